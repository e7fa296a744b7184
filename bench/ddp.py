"""bench/run ddp: the worker's data-parallel engine against PyTorch DDP.

polysweep_train_load (the worker's DataParallelStep: gradients as views of one
flat buffer, 25 MB buckets started from autograd hooks during backward and
all-reduced by the MPI communicator's progress thread) against
bench/ddp_peer.py (PyTorch DDP, gloo, its defaults) training the same encoder
classifier on random full-length batches of the same shape, with the same
threads per rank, in the same run. Also: the gradient sync of BERT-base's
110M-float gradient set against the best of one flat MPI_Allreduce and 4 MB
chunks of it; a model of 2,000 small tensors against one MPI_Allreduce per
tensor (through the communicator, and as a raw MPI_Allreduce loop); and
2-rank throughput against two independent 1-rank runs at once. The syncs and
their peers are each timed from a barrier right after the same backward.
Each figure is the best of --repeats runs, ours and the peer's alternating.
"""
import argparse
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, ROOT, build, ensure_packages, report  # noqa: E402

SHAPES = {
    # the quickstart's encoder (configs/quickstart.yaml)
    "small": dict(layers=2, hidden=128, heads=4, ffn=256, vocab=8000, length=64, batch=32),
    # a wider one: 4 layers of 256, 128 tokens
    "medium": dict(layers=4, hidden=256, heads=4, ffn=1024, vocab=8000, length=128, batch=16),
}


def env(threads):
    e = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    if os.geteuid() == 0:
        e.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return e


def flags(shape, args):
    out = []
    for k, v in dict(SHAPES[shape], steps=args.steps, threads=args.threads).items():
        out += [f"--{k}", str(v)]
    return out


def mpirun(np, *cmd):
    return ["mpirun", "-np", str(np), "--oversubscribe", "--bind-to", "none",
            "-x", "OMP_NUM_THREADS", "-x", "OPENBLAS_NUM_THREADS", *cmd]


def collect(procs):
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            sys.exit(f"benchmark run timed out: {' '.join(p.args)}")
        if p.returncode != 0:
            sys.exit(f"benchmark run failed ({p.returncode}): {' '.join(p.args)}\n{err}")
        outs.extend(json.loads(line) for line in out.splitlines() if line.startswith("{"))
    return outs


def ours(np, extra, threads):
    p = subprocess.Popen(mpirun(np, os.path.join(BIN, "polysweep_train_load"), *extra), env=env(threads),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return collect([p])[0]


def independent(extra, threads):
    """Two 1-rank runs at the same time: their samples/s summed."""
    procs = [subprocess.Popen(mpirun(1, os.path.join(BIN, "polysweep_train_load"), *extra), env=env(threads),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    return sum(r["samples_per_sec"] for r in collect(procs))


def ddp(np, extra, threads, script="ddp_peer.py"):
    """`script` (a DDP peer in bench/) on `np` ranks; rank 0's JSON line."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in range(np):
        e = dict(env(threads), RANK=str(rank), WORLD_SIZE=str(np), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "bench", script), *extra],
                                      env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return collect(procs)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="small", help="the encoder's shape")
    ap.add_argument("--steps", type=int, default=40, help="measured training steps per run")
    ap.add_argument("--threads", type=int, default=1, help="threads per rank (2 ranks x 1 = the 2 cores)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    ensure_packages("python3-torch")
    build("polysweep_train_load")
    extra = flags(args.shape, args)
    best = {}

    def keep(key, value, better=max):
        best[key] = value if key not in best else better(best[key], value)

    for r in range(args.repeats):
        mine, peer = ours(2, extra, args.threads), ddp(2, extra, args.threads)
        keep("ours", mine["samples_per_sec"])
        keep("ddp", peer["samples_per_sec"])
        keep("ours_rss", mine["peak_rss_mb"], min)
        keep("ddp_rss", peer["peak_rss_mb"], min)
        keep("solo", independent(extra, args.threads))
        print(f"run {r + 1}: polysweep {mine['samples_per_sec']:.0f} samples/s ({mine['step_ms']:.1f} ms/step, "
              f"{mine['sync_wait_ms']:.1f} ms of it waiting for the sync, {mine['buckets']} buckets), DDP {peer['samples_per_sec']:.0f} samples/s", flush=True)
    bert = ours(2, ["--mode", "sync", "--shapes", "bert-base", "--repeats", str(args.repeats)], 1)
    # Best of many: each repeat is a 16 ms backward and a sub-millisecond sync.
    small = ours(2, ["--mode", "sync", "--shapes", "small:2000", "--repeats", str(args.repeats * 20)], 1)
    print(f"BERT-base sync: {bert['buckets']} buckets, backward {bert['backward_ms']:.0f} ms then sync "
          f"{bert['sync_ms']:.0f} ms, or both overlapped {bert['overlapped_ms']:.0f} ms; MPI flat "
          f"{bert['mpi_flat_ms']:.0f} ms, 4 MB chunks {bert['mpi_chunked_ms']:.0f} ms")
    print(f"2,000 tensors: sync {small['sync_ms']:.3f} ms ({small['buckets']} bucket(s)); one all-reduce per tensor "
          f"through the communicator {small['comm_per_tensor_ms']:.3f} ms, as a raw MPI_Allreduce loop "
          f"{small['mpi_per_tensor_ms']:.3f} ms; the same bytes as one MPI_Allreduce {small['mpi_flat_ms']:.3f} ms "
          f"(all timed right after the same backward)")
    shape = f"{args.shape} encoder, 2 ranks x {args.threads} thread"
    report("ddp", [
        dict(name=f"samples/s, {shape}, vs PyTorch DDP (gloo)", unit="samples/s", ours=best["ours"],
             peer=best["ddp"], goal=1.10, better="higher"),
        dict(name="peak RSS per rank vs PyTorch DDP", unit="MB", ours=best["ours_rss"], peer=best["ddp_rss"],
             goal=0.8, better="lower"),
        dict(name="BERT-base gradient sync vs best of flat / 4 MB-chunked MPI_Allreduce", unit="ms",
             ours=bert["sync_ms"], peer=min(bert["mpi_flat_ms"], bert["mpi_chunked_ms"]), goal=1.2, better="lower"),
        dict(name="2,000-tensor model: bucketed sync vs one communicator all-reduce per tensor", unit="ms",
             ours=small["sync_ms"], peer=small["comm_per_tensor_ms"], goal=0.1, better="lower"),
        dict(name="2,000-tensor model: bucketed sync vs a raw blocking MPI_Allreduce per tensor", unit="ms",
             ours=small["sync_ms"], peer=small["mpi_per_tensor_ms"], goal=1.0, better="lower"),
        dict(name="2-rank samples/s vs two independent 1-rank runs at once", unit="samples/s", ours=best["ours"],
             peer=best["solo"], goal=0.9, better="higher"),
    ])


if __name__ == "__main__":
    main()
