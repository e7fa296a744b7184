"""bench/run pretrained: Hugging Face encoder checkpoints in polysweep.

Loading: a BERT-base-shaped checkpoint (12 x 768, vocabulary 30,522: 110M
floats, 440 MB), generated here with random weights, loaded into polysweep's
model (polysweep_hf_load: the safetensors file mapped, every tensor checked,
then copied into the parameters) against PyTorch loading the same weights
the way a PyTorch script does (torch.load of pytorch_model.bin, then
load_state_dict into a module of the same parameters). Both build their
model before the clock starts, use one thread and read from the page cache
(the files were just written); each figure is the best of --repeats runs,
ours and the peer's alternating, each in a fresh process.

WordPiece: the default dataset's texts (all of them, 14 languages) encoded
on one thread by polysweep's WordPiece (polysweep_tokenize_load) and by
Hugging Face's tokenizers (npm, its Node binding: batches of 1,000 texts,
RAYON_NUM_THREADS=1), both from the same tokenizer.json, a cased vocabulary
the library's own trainer made of those texts. Both must produce the same
number of ids; the figure is texts per second, the fastest of 3 rounds.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "worker"))
from common import BIN, ROOT, build, ensure_packages, report  # noqa: E402

DEFAULT_DATA = os.path.join(ROOT, "data", "default", "ddtp.jsonl")
TOKENIZERS_VERSION = json.load(open(os.path.join(ROOT, "tests", "oracle", "package.json")))["dependencies"]["tokenizers"]

BERT_BASE = {"model_type": "bert", "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
             "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
             "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
             "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "pad_token_id": 0,
             "architectures": ["BertModel"]}

PEER = r'''
import sys, time, torch
torch.set_num_threads(1)
keys = torch.load(sys.argv[1] + "/shapes.pt")
root = torch.nn.Module()
for name, shape in keys.items():
    *path, leaf = name.split(".")
    m = root
    for p in path:
        if not hasattr(m, p):
            m.add_module(p, torch.nn.Module())
        m = getattr(m, p)
    m.register_parameter(leaf, torch.nn.Parameter(torch.empty(shape)))
start = time.perf_counter()
state = torch.load(sys.argv[1] + "/pytorch_model.bin")
root.load_state_dict(state)
print(time.perf_counter() - start)
'''


def make_checkpoint(out):
    import torch
    from hf_fixture import write_safetensors, layer_names
    c, h = BERT_BASE, BERT_BASE["hidden_size"]
    g = torch.Generator().manual_seed(1)
    w = {"embeddings.word_embeddings.weight": (c["vocab_size"], h),
         "embeddings.position_embeddings.weight": (c["max_position_embeddings"], h),
         "embeddings.token_type_embeddings.weight": (c["type_vocab_size"], h),
         "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,),
         "pooler.dense.weight": (h, h), "pooler.dense.bias": (h,)}
    for i in range(c["num_hidden_layers"]):
        n = layer_names("bert", i)
        for k in ("q", "k", "v", "o"):
            w[n[k] + ".weight"], w[n[k] + ".bias"] = (h, h), (h,)
        w[n["f1"] + ".weight"], w[n["f1"] + ".bias"] = (c["intermediate_size"], h), (c["intermediate_size"],)
        w[n["f2"] + ".weight"], w[n["f2"] + ".bias"] = (h, c["intermediate_size"]), (h,)
        for k in ("n1", "n2"):
            w[n[k] + ".weight"], w[n[k] + ".bias"] = (h,), (h,)
    tensors = {name: torch.randn(*shape, generator=g) * 0.02 for name, shape in w.items()}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(c, f)
    write_safetensors(os.path.join(out, "model.safetensors"), tensors, {torch.float32: "F32"})
    torch.save(tensors, os.path.join(out, "pytorch_model.bin"))
    torch.save({k: v.shape for k, v in tensors.items()}, os.path.join(out, "shapes.pt"))
    return sum(t.numel() for t in tensors.values()), os.path.getsize(os.path.join(out, "model.safetensors"))


def wordpiece_speed(d):
    """Texts per second of both tokenizers, one thread, the default dataset."""
    build("polysweep_tokenize_load", "polysweep_oracle_deps")
    texts = os.path.join(d, "texts.jsonl")
    with open(DEFAULT_DATA) as f, open(texts, "w") as out:
        for line in f:
            out.write(json.dumps(json.loads(line)["text"], ensure_ascii=False) + "\n")
    env = dict(os.environ, NODE_PATH=os.path.join(ROOT, "build", "oracle-deps", "node_modules"),
               RAYON_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    script = os.path.join(ROOT, "tests", "oracle", "hf_tokenizers.js")
    vocab = os.path.join(d, "wordpiece")
    subprocess.run(["node", script, "train-wordpiece", texts, "false", vocab], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tokenizer = os.path.join(vocab, "tokenizer.json")
    ours = json.loads(subprocess.run([os.path.join(BIN, "polysweep_tokenize_load"), "--tokenizer", tokenizer,
                                      "--texts", texts, "--rounds", "3"], capture_output=True, text=True,
                                     check=True).stdout)
    peer = json.loads(subprocess.run(["node", script, "time", tokenizer, texts, "3"], env=env,
                                     capture_output=True, text=True, check=True).stdout)
    if ours["ids"] != peer["ids"]:
        sys.exit(f"the tokenizers disagree: {ours['ids']} ids against {peer['ids']}")
    return {"name": f"WordPiece encoding, one thread ({ours['texts']} texts, {ours['ids']} ids)", "unit": "texts/s",
            "ours": round(ours["texts"] / ours["seconds"]), "peer": round(peer["texts"] / peer["seconds"]),
            "goal": 1.0, "better": "higher"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    ensure_packages("python3-torch")
    build("polysweep_hf_load")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory(prefix="polysweep-pretrained-") as d:
        # polysweep reads safetensors only: the peer's file sits in a directory of its own.
        ours_dir, peer_dir = os.path.join(d, "hf"), os.path.join(d, "pt")
        os.makedirs(ours_dir)
        numel, size = make_checkpoint(ours_dir)
        os.makedirs(peer_dir)
        for f in ("pytorch_model.bin", "shapes.pt"):
            os.rename(os.path.join(ours_dir, f), os.path.join(peer_dir, f))
        ours, peer = [], []
        for _ in range(args.repeats):
            r = subprocess.run([os.path.join(BIN, "polysweep_hf_load"), "--dir", ours_dir], env=env,
                               capture_output=True, text=True, check=True)
            result = json.loads(r.stdout)
            if result["parameters"] < numel:
                sys.exit(f"polysweep loaded {result['parameters']} parameters, the checkpoint has {numel}")
            ours.append(result["seconds"])
            r = subprocess.run(["/usr/bin/python3", "-c", PEER, peer_dir], env=env, capture_output=True, text=True,
                               check=True)
            peer.append(float(r.stdout.strip()))
        wordpiece = wordpiece_speed(d)
    report("pretrained", [
        {"name": f"load a BERT-base checkpoint ({size / 1e6:.0f} MB) into the model", "unit": "s",
         "ours": round(min(ours), 3), "peer": round(min(peer), 3), "goal": 0.5, "better": "lower"},
        wordpiece,
    ], notes=f"peer: torch.load(pytorch_model.bin) + load_state_dict, PyTorch {torch_version()}; "
             f"runs: ours {[round(x, 3) for x in ours]}, peer {[round(x, 3) for x in peer]}; "
             f"WordPiece peer: Hugging Face tokenizers {TOKENIZERS_VERSION} (npm)")


def torch_version():
    import torch
    return torch.__version__


if __name__ == "__main__":
    main()
