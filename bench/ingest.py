"""bench/run ingest: durable progress reports per second into the coordinator's
journal, against Optuna's trial.report + should_prune on its SQLite storage, in
the same run.

polysweep: build/bin/polysweep_ingest_load runs a real coordinator (ROUTER
socket, SQLite journal in WAL mode, group commit) with --clients trials; one
simulated rank 0 per trial, each on its own ZeroMQ connection, sends
--reports Progress reports one after another, each waiting for its
acknowledgement, which the coordinator sends only after the report is
committed to the journal. The journal is checked to hold every report once.

Peer: Optuna (Debian python3-optuna) with RDBStorage on SQLite and the
SuccessiveHalving pruner: --peer-trials trials in turn, each reporting
--peer-reports intermediate values with trial.report(value, step) followed by
trial.should_prune(), as a training loop integrated with Optuna does; each
report is committed by Optuna before report() returns.

Figures: reports per second with --clients ranks reporting at once (Optuna
reports from its one process; it has no server to report to), and the p99
latency of a report until it is durable and acknowledged with one reporter
on each side.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import BIN, build, ensure_packages, report


def optuna_peer(trials, reports, work):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = "sqlite:///" + os.path.join(work, "optuna.db")
    study = optuna.create_study(storage=storage, study_name="ingest", direction="maximize",
                                pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=10**9))
    latencies = []
    start = time.perf_counter()
    for _ in range(trials):
        trial = study.ask()
        for step in range(1, reports + 1):
            t0 = time.perf_counter()
            trial.report(1.0 / step, step)
            trial.should_prune()
            latencies.append((time.perf_counter() - t0) * 1000)
        study.tell(trial, 1.0)
    seconds = time.perf_counter() - start
    latencies.sort()
    total = trials * reports
    return {"per_second": total / seconds, "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "reports": total, "seconds": seconds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--reports", type=int, default=2000)
    ap.add_argument("--peer-trials", type=int, default=4)
    ap.add_argument("--peer-reports", type=int, default=250)
    args = ap.parse_args()
    ensure_packages("python3-optuna")
    build("polysweep_ingest_load")
    work = tempfile.mkdtemp(prefix="polysweep-bench-ingest-")
    try:
        loaded = run_ours(args.clients, args.reports, os.path.join(work, "loaded"))
        single = run_ours(1, args.peer_trials * args.peer_reports, os.path.join(work, "single"))
        peer = optuna_peer(args.peer_trials, args.peer_reports, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("ingest", [
        {"name": f"durable reports per second, {args.clients} ranks (peer: its one process)", "unit": "reports/s",
         "ours": loaded["per_second"], "peer": peer["per_second"], "goal": 100, "better": "higher"},
        {"name": "p99 latency of one reporter until durable and acknowledged", "unit": "ms",
         "ours": single["p99_ms"], "peer": peer["p99_ms"], "goal": 1, "better": "lower"},
    ], notes=(f"polysweep: {loaded['reports']} reports from {args.clients} simulated ranks over ZeroMQ (TCP loopback) "
              f"in {loaded['seconds']:.2f} s, p50 {loaded['p50_ms']:.2f} ms, p99 {loaded['p99_ms']:.2f} ms under that "
              f"load; one reporter alone: {single['per_second']:.0f} reports/s, p99 {single['p99_ms']:.3f} ms. "
              f"Every report is in the journal once.\nOptuna: {peer['reports']} reports (report + should_prune) in "
              f"{peer['seconds']:.2f} s.\nTargets: >= 50,000 reports/s and p99 <= 5 ms under load, >= 100x Optuna. "
              "The simulated ranks share the machine's cores with the coordinator."))


def run_ours(clients, reports, directory):
    r = subprocess.run([os.path.join(BIN, "polysweep_ingest_load"), "--clients", str(clients),
                        "--reports", str(reports), "--dir", directory],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if r.returncode != 0:
        sys.exit(f"polysweep_ingest_load failed ({r.returncode}): {r.stdout}")
    ours = json.loads(r.stdout.strip().splitlines()[-1])
    if ours["stored"] != ours["reports"]:
        sys.exit(f"the journal holds {ours['stored']} of {ours['reports']} reports")
    return ours


if __name__ == "__main__":
    main()
