"""The peer of `bench/run pretrained`'s fine-tuning figures: PyTorch DDP
(gloo) fine-tuning a BERT checkpoint written as a plain nn.Module from the
published equations (word + position + token-type embeddings, LayerNorm;
post-norm layers of self-attention and a GELU feed-forward; the pooler's
dense + tanh on [CLS]; dropout; a fresh linear head), its weights read from
the same model.safetensors polysweep loads, training on the same batches
(the file polysweep_train_load --batches reads: int64 ids [8, ranks, batch,
length] then labels [8, ranks, batch]); AdamW, gradient clipping at 1.0,
DDP's defaults. Started once per rank with RANK, WORLD_SIZE, MASTER_ADDR and
MASTER_PORT. Rank 0 prints one JSON object like polysweep_train_load's."""
import argparse
import json
import math
import os
import struct

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from ddp_peer import train_and_report


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", name
        begin, end = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(t["shape"])
    return out


class Bert(nn.Module):
    def __init__(self, cfg, weights, classes):
        super().__init__()
        self.cfg = cfg
        self.w = nn.ParameterDict({k.replace(".", "__"): nn.Parameter(v) for k, v in weights.items()})
        self.head = nn.Linear(cfg["hidden_size"], classes)
        self.drop = cfg["hidden_dropout_prob"]
        self.prefix = "bert__" if any(k.startswith("bert.") for k in weights) else ""

    def p(self, name):
        return self.w[self.prefix + name.replace(".", "__")]

    def linear(self, x, name):
        return F.linear(x, self.p(name + ".weight"), self.p(name + ".bias"))

    def norm(self, x, name):
        return F.layer_norm(x, x.shape[-1:], self.p(name + ".weight"), self.p(name + ".bias"),
                            self.cfg["layer_norm_eps"])

    def forward(self, ids, pad):
        b, n = ids.shape
        h, heads = self.cfg["hidden_size"], self.cfg["num_attention_heads"]
        d = h // heads
        x = (F.embedding(ids, self.p("embeddings.word_embeddings.weight")) +
             self.p("embeddings.position_embeddings.weight")[:n] +
             self.p("embeddings.token_type_embeddings.weight")[0])
        x = F.dropout(self.norm(x, "embeddings.LayerNorm"), self.drop, self.training)
        mask = pad[:, None, None, :].to(x.dtype) * torch.finfo(x.dtype).min
        for i in range(self.cfg["num_hidden_layers"]):
            L = f"encoder.layer.{i}."

            def split(t):
                return t.view(b, n, heads, d).transpose(1, 2)
            q = split(self.linear(x, L + "attention.self.query"))
            k = split(self.linear(x, L + "attention.self.key"))
            v = split(self.linear(x, L + "attention.self.value"))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask, dim=-1)
            a = F.dropout(a, self.drop, self.training)
            ctx = (a @ v).transpose(1, 2).reshape(b, n, h)
            x = self.norm(x + F.dropout(self.linear(ctx, L + "attention.output.dense"), self.drop, self.training),
                          L + "attention.output.LayerNorm")
            f = F.gelu(self.linear(x, L + "intermediate.dense"))
            x = self.norm(x + F.dropout(self.linear(f, L + "output.dense"), self.drop, self.training),
                          L + "output.LayerNorm")
        pooled = torch.tanh(self.linear(x[:, 0], "pooler.dense"))
        return self.head(F.dropout(pooled, self.drop, self.training))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf", required=True)
    ap.add_argument("--batches", required=True)
    for name, default in [("length", 128), ("batch", 8), ("classes", 14), ("steps", 3), ("warmup", 1),
                          ("threads", 1)]:
        ap.add_argument(f"--{name}", type=int, default=default)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    with open(os.path.join(a.hf, "config.json")) as f:
        cfg = json.load(f)
    torch.manual_seed(1)
    model = Bert(cfg, read_safetensors(os.path.join(a.hf, "model.safetensors")), a.classes)
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.AdamW(ddp.parameters(), lr=2e-5, weight_decay=0.01)
    raw = torch.frombuffer(bytearray(open(a.batches, "rb").read()), dtype=torch.int64)
    per = a.batch * a.length
    ids = raw[:8 * world * per].view(8, world, a.batch, a.length)
    labels = raw[8 * world * per:].view(8, world, a.batch)
    pad = torch.zeros(a.batch, a.length, dtype=torch.bool)
    train_and_report(ddp, model, opt, [(ids[i, rank], pad, labels[i, rank]) for i in range(8)], a)


if __name__ == "__main__":
    main()
