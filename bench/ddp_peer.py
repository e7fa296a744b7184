"""The peer of `bench/run ddp`: PyTorch DDP (gloo) training the same encoder
classifier as polysweep's worker (token + position embeddings, LayerNorm,
dropout, post-norm GELU TransformerEncoder layers, mean pooling over
non-padding tokens, dropout, linear head; AdamW, gradient clipping at 1.0)
on random full-length token batches of the same shape, DDP's defaults
(25 MB buckets). Started once per rank with RANK, WORLD_SIZE, MASTER_ADDR and
MASTER_PORT set (Debian's torchrun does not run on its Python 3.11). Rank 0
prints one JSON object like polysweep_train_load's."""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn


class EncoderClassifier(nn.Module):
    def __init__(self, vocab, classes, layers, hidden, heads, ffn, length, dropout):
        super().__init__()
        self.tokens = nn.Embedding(vocab, hidden)
        self.positions = nn.Embedding(length, hidden)
        self.norm = nn.LayerNorm(hidden)
        layer = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=ffn, dropout=dropout, activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, classes)
        nn.init.normal_(self.tokens.weight, 0.0, 0.02)
        nn.init.normal_(self.positions.weight, 0.0, 0.02)

    def forward(self, ids, pad):
        pos = torch.arange(ids.size(1))
        x = self.tokens(ids) + self.positions(pos).unsqueeze(0)
        x = self.dropout(self.norm(x))
        x = self.encoder(x.transpose(0, 1), src_key_padding_mask=pad).transpose(0, 1)
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        pooled = (x * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        return self.head(self.dropout(pooled))


def train_and_report(ddp, model, opt, batches, a):
    """Trains a.warmup then a.steps steps of `batches` (ids, pad, labels), the
    latter timed; rank 0 prints the JSON line polysweep_train_load prints.
    Exits the process (see the end)."""
    rank, world = dist.get_rank(), dist.get_world_size()

    def step(i):
        ids, pad, labels = batches[i % len(batches)]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(ddp(ids, pad), labels)
        loss.backward()
        nn.utils.clip_grad_norm_(ddp.parameters(), 1.0)
        opt.step()

    ddp.train()
    for i in range(a.warmup):
        step(i)
    dist.barrier()
    start = time.perf_counter()
    for i in range(a.steps):
        step(i)
    seconds = time.perf_counter() - start
    rss = torch.tensor([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0])
    dist.all_reduce(rss, op=dist.ReduceOp.MAX)
    if rank == 0:
        print(json.dumps({"samples_per_sec": a.steps * a.batch * world / seconds, "step_ms": seconds / a.steps * 1e3,
                          "parameters": sum(p.numel() for p in model.parameters()), "peak_rss_mb": rss.item(),
                          "ranks": world}), flush=True)
    # Every rank is done: leave without tearing gloo down (destroy_process_group
    # sometimes spins forever in this PyTorch on one of the ranks).
    dist.barrier()
    sys.stdout.flush()
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    for name, default in [("layers", 2), ("hidden", 128), ("heads", 4), ("ffn", 256), ("vocab", 8000),
                          ("length", 64), ("batch", 32), ("classes", 14), ("steps", 30), ("warmup", 5),
                          ("threads", 1)]:
        ap.add_argument(f"--{name}", type=int, default=default)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(1)
    model = EncoderClassifier(a.vocab, a.classes, a.layers, a.hidden, a.heads, a.ffn, a.length, 0.1)
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.AdamW(ddp.parameters(), lr=1e-4, weight_decay=0.01)
    torch.manual_seed(100 + rank)
    batches = [(torch.randint(4, a.vocab, (a.batch, a.length)), torch.zeros(a.batch, a.length, dtype=torch.bool),
                torch.randint(0, a.classes, (a.batch,))) for _ in range(8)]
    train_and_report(ddp, model, opt, batches, a)


if __name__ == "__main__":
    main()
