"""The peer of `bench/run serve`: a plain PyTorch prediction service. The same
weights (the polysweep model directory's model.pt, read with torch.jit.load)
in an eager PyTorch module of the same architecture (token and position
embeddings, LayerNorm, post-norm GELU nn.TransformerEncoderLayer, mean
pooling, linear head), the same SentencePiece tokenizer
(python3-sentencepiece), behind the standard library's ThreadingHTTPServer
with HTTP/1.1 keep-alive. POST /v1/predict {"texts": [...]} answers
{"predictions": [{"predicted", "probability"}]}, one forward pass per
request. Prints "ready PORT" when it listens.

usage: serve_peer.py MODEL_DIR [--threads N] [--check TEXTS.jsonl]
--check prints the peer's labels for the texts, one per line, and exits."""
import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sentencepiece
import torch
import torch.nn as nn


class EncoderClassifier(nn.Module):
    def __init__(self, w, heads):
        super().__init__()
        vocab, hidden = w["tokens.weight"].shape
        length = w["positions.weight"].shape[0]
        layers = 1 + max(int(k.split(".")[1]) for k in w if k.startswith("layers."))
        ffn = w["layers.0.ff1.weight"].shape[0]
        self.tokens = nn.Embedding(vocab, hidden)
        self.positions = nn.Embedding(length, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-5)
        layer = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=ffn, dropout=0.0, activation="gelu",
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(hidden, w["head.weight"].shape[0])
        state = {"tokens.weight": w["tokens.weight"], "positions.weight": w["positions.weight"],
                 "norm.weight": w["norm.weight"], "norm.bias": w["norm.bias"],
                 "head.weight": w["head.weight"], "head.bias": w["head.bias"]}
        names = {"qkv": "self_attn.in_proj_", "out": "self_attn.out_proj.", "ff1": "linear1.", "ff2": "linear2.",
                 "norm1": "norm1.", "norm2": "norm2."}
        for i in range(layers):
            for ours, theirs in names.items():
                for p in ("weight", "bias"):
                    state[f"encoder.layers.{i}.{theirs}{p}"] = w[f"layers.{i}.{ours}.{p}"]
        self.load_state_dict(state)
        self.eval()

    def forward(self, ids):
        x = self.tokens(ids) + self.positions(torch.arange(ids.size(1))).unsqueeze(0)
        x = self.encoder(self.norm(x))
        return self.head(x.mean(1))


def load(model_dir):
    with open(f"{model_dir}/model.json") as f:
        package = json.load(f)
    weights = {k: v.detach() for k, v in torch.jit.load(f"{model_dir}/{package['weights']}").named_parameters()}
    model = EncoderClassifier(weights, package["model"]["heads"])
    sp = sentencepiece.SentencePieceProcessor(model_file=f"{model_dir}/{package['tokenizer']}")
    return package, model, sp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--check")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    package, model, sp = load(a.model)
    labels, max_length, unk = package["labels"], package["model"]["max_length"], sp.unk_id()

    def predict(texts):
        out = []
        with torch.inference_mode():
            for t in texts:
                ids = sp.encode(t)[:max_length] or [unk]
                probs = torch.softmax(model(torch.tensor([ids])), 1)[0]
                k = int(probs.argmax())
                out.append({"predicted": labels[k], "probability": float(probs[k])})
        return out

    if a.check:
        with open(a.check) as f:
            for line in f:
                print(predict([json.loads(line)["text"]])[0]["predicted"])
        return

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # the head and the body go out at once

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                texts = json.loads(body)["texts"]
                reply, status = json.dumps({"predictions": predict(texts)}).encode(), 200
            except (ValueError, KeyError, TypeError) as e:
                reply, status = json.dumps({"error": str(e)}).encode(), 400
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
