"""A local OpenAI-compatible `/v1/embeddings` endpoint over WordLlama (`l2_supercat`, 256
dimensions: token embeddings distilled from Llama 2 for sentence similarity, mean-pooled), to
measure the assistant's semantic recall with a model stronger than GloVe's word vectors and
still downloadable where no embedding model is (docs/assistant.md, "Semantic recall, measured
with word vectors"). Its wheel carries the weights and the tokenizer. It is between GloVe and a
small sentence-embedding model on MTEB (its RESULTS.md), so a real model should do better still.
Measurement only, never for production.

    python3 -m venv /tmp/wl && /tmp/wl/bin/pip install wordllama==0.4.0.post1   # MIT
    # 0.4.0 looks for its bundled tokenizer in `tokenizer/` but ships it in `tokenizers/`:
    ln -s tokenizers /tmp/wl/lib/python3.*/site-packages/wordllama/tokenizer
    /tmp/wl/bin/python examples/wordllama_embeddings.py 18090 &
    printf '[knowledge]\nmin_similarity = 0.55\nsemantic_weight = 0.5\n' > /tmp/k.toml
    OKTA_AGENT_CONFIG=/tmp/k.toml OPENAI_BASE_URL=http://127.0.0.1:18090/v1 \
      OPENAI_EMBEDDINGS_MODEL=wordllama cargo run --release --example faq_eval -- --embeddings
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from glove_embeddings import serve  # noqa: E402
from wordllama import WordLlama  # noqa: E402

model = WordLlama.load(config="l2_supercat", dim=256)


def embed(texts):
    return model.embed(texts, norm=True, return_np=True).tolist()


serve(embed, int(sys.argv[1]), "wordllama")
