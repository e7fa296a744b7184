"""bench/run serve: `polysweep serve` against a plain PyTorch service
(bench/serve_peer.py: the same weights in eager PyTorch, the same
SentencePiece tokenizer, behind the standard library's ThreadingHTTPServer)
on the same requests: one process (build/bin/polysweep_serve_load) driving
64 keep-alive connections, one text of the default dataset per request.

Two models: the quickstart's best (runs/quickstart/model; the quickstart
sweep is run first when it is missing) and a BERT-base-shaped model of
polysweep's architecture (12 layers, hidden 768, 12 heads, FFN 3072, 128
tokens; random weights, the quickstart's tokenizer), written here.

Figures: texts/s at saturation (closed loop) for each model; the p99 latency
at half of our saturation rate (open loop, counted from when each request
was due), ours against the peer's at the same rate; texts/s with
`--quantize int8` against our fp32 and the test split's macro-F1 with and
without it; the servers' peak RSS."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, ROOT, build, ensure_packages, report  # noqa: E402

LOAD = os.path.join(BIN, "polysweep_serve_load")


def wait_ready(proc, port_file=None):
    """The port a server listens on, once it answers (ours: --port-file and
    /readyz; the peer prints "ready PORT")."""
    if port_file is None:
        line = proc.stdout.readline()
        if not line.startswith("ready "):
            sys.exit(f"the peer did not start: {line}{proc.stderr.read()}")
        return int(line.split()[1])
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"polysweep serve exited: {proc.stderr.read()}")
        if os.path.exists(port_file):
            port = int(open(port_file).read())
            r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{port}/readyz"],
                               stdout=subprocess.PIPE, text=True)
            if r.stdout == "200":
                return port
        time.sleep(0.1)
    sys.exit("polysweep serve did not become ready")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Server:
    """One server process for the length of a `with` block."""

    def __init__(self, kind, model, work, extra=()):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="2")
        if kind == "peer":
            cmd = ["/usr/bin/python3", os.path.join(ROOT, "bench", "serve_peer.py"), model, "--threads", "2"]
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            self.port = wait_ready(self.proc)
        else:
            port_file = os.path.join(work, f"port-{time.time_ns()}")
            cmd = [os.path.join(BIN, "polysweep-serve"), model, "--port", "0", "--port-file", port_file, *extra]
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
            self.port = wait_ready(self.proc, port_file)

    def load(self, texts, seconds, rate=0, connections=64):
        r = subprocess.run([LOAD, "--port", str(self.port), "--texts", texts, "--seconds", str(seconds),
                            "--rate", str(rate), "--connections", str(connections)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
        return json.loads(r.stdout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.rss_mb = peak_rss_mb(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(timeout=60)


def quickstart_model():
    model = os.path.join(ROOT, "runs", "quickstart", "model")
    if not os.path.exists(os.path.join(model, "model.json")):
        print("running the quickstart sweep for its model (scripts/quickstart)", flush=True)
        subprocess.run([os.path.join(ROOT, "scripts", "quickstart")], check=True, stdout=subprocess.DEVNULL)
    return model


def bert_base_model(quickstart, out):
    """A BERT-base-shaped model of polysweep's architecture, random weights:
    written as a TorchScript archive with the parameter names the C++ model
    has, which torch::load reads."""
    import torch
    import torch.nn as nn

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv, self.out = nn.Linear(768, 3 * 768), nn.Linear(768, 768)
            self.ff1, self.ff2 = nn.Linear(768, 3072), nn.Linear(3072, 768)
            self.norm1, self.norm2 = nn.LayerNorm(768), nn.LayerNorm(768)

        def forward(self, x):
            return x

    class Model(nn.Module):
        def __init__(self, vocab, classes):
            super().__init__()
            self.tokens, self.positions = nn.Embedding(vocab, 768), nn.Embedding(128, 768)
            self.norm = nn.LayerNorm(768)
            self.layers = nn.ModuleList([Layer() for _ in range(12)])
            self.dropout = nn.Dropout(0.0)
            self.head = nn.Linear(768, classes)

        def forward(self, x):
            return x

    with open(os.path.join(quickstart, "model.json")) as f:
        package = json.load(f)
    torch.manual_seed(7)
    m = Model(package["model"]["vocab"], len(package["labels"]))
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                p.normal_(0.0, 0.02)
    os.makedirs(out, exist_ok=True)
    torch.jit.save(torch.jit.script(m), os.path.join(out, package["weights"]))
    package["model"].update({"layers": 12, "hidden": 768, "heads": 12, "ffn": 3072, "max_length": 128})
    package["source"]["sweep"] = "bert-base-shaped"
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(package, f)
    shutil.copy(os.path.join(quickstart, package["tokenizer"]), out)
    return out


def test_macro_f1(model, quantize, work):
    """The test split's macro-F1; int8 with every layer quantized (the
    quickstart's layers are narrower than the default --int8-min-inputs)."""
    path = os.path.join(work, f"report-{quantize}.json")
    subprocess.run([os.path.join(BIN, "polysweep"), "evaluate", model, "--shards",
                    os.path.join(ROOT, "runs", "quickstart", "data"), "--split", "test", "--quantize", quantize,
                    "--int8-min-inputs", "1", "--report-json", path],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    with open(path) as f:
        return json.load(f)["macro"]["f1"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    build("polysweep", "polysweep-serve", "polysweep-predict", "polysweep_serve_load")
    ensure_packages("python3-torch", "python3-sentencepiece", "curl")
    quickstart = quickstart_model()
    work = tempfile.mkdtemp(prefix="polysweep-bench-serve-")
    texts = os.path.join(work, "texts.jsonl")
    with open(os.path.join(ROOT, "data", "default", "ddtp.jsonl")) as src, open(texts, "w") as out:
        for i, line in enumerate(src):
            if i % 7 == 0:
                out.write(json.dumps({"text": json.loads(line)["text"]}) + "\n")
    bert = bert_base_model(quickstart, os.path.join(work, "bert-base-shaped"))
    results = {}
    for name, model in (("quickstart", quickstart), ("bert-base", bert)):
        print(f"serving the {name} model: ours fp32, ours int8, the PyTorch peer", flush=True)
        s = a.seconds * (3 if name == "bert-base" else 1)  # a few texts a second: measure longer
        with Server("ours", model, work) as ours:
            sat = ours.load(texts, s)
            half = ours.load(texts, s, rate=sat["texts_per_s"] / 2) if name == "quickstart" else None
        with Server("ours", model, work, ["--quantize", "int8"]) as ours8:
            sat8 = ours8.load(texts, s)
        with Server("peer", model, work) as peer:
            peer_sat = peer.load(texts, s)
            peer_half = peer.load(texts, s, rate=sat["texts_per_s"] / 2) if name == "quickstart" else None
        results[name] = dict(sat=sat, half=half, sat8=sat8, peer_sat=peer_sat, peer_half=peer_half,
                             rss=ours.rss_mb, rss8=ours8.rss_mb, peer_rss=peer.rss_mb)
    f1 = test_macro_f1(quickstart, "none", work)
    f1_int8 = test_macro_f1(quickstart, "int8", work)
    q, b = results["quickstart"], results["bert-base"]
    figures = [
        {"name": "texts/s at saturation, fp32, quickstart model (64 connections)", "unit": "texts/s",
         "ours": q["sat"]["texts_per_s"], "peer": q["peer_sat"]["texts_per_s"], "goal": 3, "better": "higher"},
        {"name": "texts/s at saturation, fp32, BERT-base-shaped model", "unit": "texts/s",
         "ours": b["sat"]["texts_per_s"], "peer": b["peer_sat"]["texts_per_s"], "goal": 3, "better": "higher"},
        {"name": f"p99 latency at half our saturation ({q['sat']['texts_per_s'] / 2:.0f} texts/s), quickstart "
                 "(goal: ours <= 50 ms)", "unit": "ms",
         "ours": q["half"]["p99_ms"], "peer": q["peer_half"]["p99_ms"], "goal": 1, "better": "lower"},
        {"name": "texts/s at saturation, --quantize int8 vs our fp32, quickstart model", "unit": "texts/s",
         "ours": q["sat8"]["texts_per_s"], "peer": q["sat"]["texts_per_s"], "goal": 1.5, "better": "higher"},
        {"name": "texts/s at saturation, --quantize int8 vs our fp32, BERT-base-shaped", "unit": "texts/s",
         "ours": b["sat8"]["texts_per_s"], "peer": b["sat"]["texts_per_s"], "goal": 1.5, "better": "higher"},
        {"name": "test-split macro-F1, int8 (every layer) vs fp32, quickstart (goal: within 1 point)",
         "unit": "macro-F1",
         "ours": f1_int8, "peer": f1, "goal": 0.99, "better": "higher"},
        {"name": "peak RSS of the server, fp32, quickstart model", "unit": "MB",
         "ours": q["rss"], "peer": q["peer_rss"], "goal": 0.5, "better": "lower"},
        {"name": "peak RSS of the server, fp32, BERT-base-shaped", "unit": "MB",
         "ours": b["rss"], "peer": b["peer_rss"], "goal": 0.5, "better": "lower"},
    ]
    notes = "".join(
        f"{n}: ours p50 {r['sat']['p50_ms']:.1f} ms p99 {r['sat']['p99_ms']:.1f} ms at saturation, "
        f"{r['sat']['errors']} errors; peer p50 {r['peer_sat']['p50_ms']:.1f} ms p99 {r['peer_sat']['p99_ms']:.1f} ms, "
        f"{r['peer_sat']['errors']} errors; int8 RSS {r['rss8']:.0f} MB\n" for n, r in results.items())
    notes += (f"at half our saturation: ours p50 {q['half']['p50_ms']:.1f} ms, p99 {q['half']['p99_ms']:.1f} ms; "
              f"peer p50 {q['peer_half']['p50_ms']:.1f} ms, p99 {q['peer_half']['p99_ms']:.1f} ms\n"
              f"test-split macro-F1: fp32 {f1:.4f}, int8 {f1_int8:.4f}\n"
              f"{os.cpu_count()} cores; server defaults (--max-batch 32, --max-wait-ms 5, one inference thread per core of "
              f"one compute thread); the peer with torch.set_num_threads(2) (1 gave 3% less)")
    shutil.rmtree(work, ignore_errors=True)
    report("serve", figures, notes)


if __name__ == "__main__":
    main()
