"""bench/run trials: what the sweep machinery costs per trial, in the same run.

A trivial trainable (trial.synthetic_step_ms: a trial waits --steps x
--step-ms, reports its progress and one evaluation, and trains nothing) run
--trials times:

  polysweep  a coordinator in pull mode (trial.launcher: agents) and --agents
             agents, each an mpirun job of one rank that runs trial after
             trial: every trial is issued by the searcher, journaled, claimed,
             announced (Hello -> Assignment), reported and acknowledged after
             its facts are committed to the SQLite journal.
  optuna     the same trainable as an Optuna objective (Debian python3-optuna):
             study.optimize with n_jobs=--agents threads, RandomSampler, its
             SQLite storage, the same reports through trial.report.

Both are compared with the ideal: trials x steps x step_ms / agents. The
figures are the wall time over that ideal and the cost per trial in
milliseconds of one worker's time; the goal is polysweep within 5% of the
ideal for 10,000 trials.
"""
import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from common import BIN, ROOT, build, ensure_packages, report


def config(work, args):
    return f"""name: trials
output_dir: {work}/run
data:
  files: [{ROOT}/data/default/ddtp.jsonl]
  group_field: group
  max_per_language: 120
  vocab_size: 2000
model: {{layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 32}}
trial: {{ranks: 1, launcher: agents, synthetic_step_ms: {args.step_ms}, keep_best_checkpoints: 0}}
max_concurrent: {args.agents}
search:
  algorithm: random
  seed: 1
  space:
    lr: {{type: loguniform, low: 1.0e-4, high: 3.0e-2}}
    dropout: {{type: uniform, low: 0.0, high: 0.3}}
metric: {{name: macro_f1}}
budget: {{max_trials: {args.trials}, max_steps: {args.steps}, eval_every: 0, log_every: {args.steps}}}
"""


def run_polysweep(work, args):
    path = os.path.join(work, "trials.yaml")
    with open(path, "w") as f:
        f.write(config(work, args))
    log = open(os.path.join(work, "coordinator.log"), "w")
    coordinator = subprocess.Popen([os.path.join(BIN, "polysweep"), "sweep", path], stdout=log, stderr=log)
    endpoint_file = os.path.join(work, "run", "coordinator.endpoint")
    deadline = time.time() + 120
    while not os.path.exists(endpoint_file):
        if coordinator.poll() is not None or time.time() > deadline:
            sys.exit(f"the coordinator did not start; see {log.name}")
        time.sleep(0.1)
    time.sleep(0.1)
    endpoint = open(endpoint_file).read().split()[0]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    agents = []
    for a in range(args.agents):
        out = open(os.path.join(work, f"agent-{a}.log"), "w")
        agents.append(subprocess.Popen(
            ["mpirun", "-np", "1", "--oversubscribe", "--bind-to", "none", os.path.join(BIN, "polysweep-worker"),
             "--coordinator", endpoint, "--sweep", "trials", "--agent", f"a{a}"], stdout=out, stderr=out, env=env))
    if coordinator.wait() != 0:
        sys.exit(f"the sweep failed; see {log.name}")
    for a in agents:
        a.wait(timeout=60)
    db = sqlite3.connect(os.path.join(work, "run", "journal.db"))
    done, first, last = db.execute(
        "SELECT COUNT(*), MIN(started_at), MAX(finished_at) FROM trials WHERE state='completed'").fetchone()
    if done != args.trials:
        sys.exit(f"only {done} of {args.trials} trials completed; see {log.name}")
    return last - first


def run_optuna(work, args, trials):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{work}/optuna.db"
    study = optuna.create_study(storage=storage, direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=1))
    sys.path.insert(0, os.path.join(ROOT, "bench"))

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 3e-2, log=True)
        dropout = trial.suggest_float("dropout", 0.0, 0.3)
        quality = 0.0
        for step in range(1, args.steps + 1):
            time.sleep(args.step_ms / 1000.0)
            quality = synthetic_quality(lr, dropout, step, args.steps)
        trial.report(1.05 - quality, args.steps)  # the one progress report
        return quality

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials, n_jobs=args.agents)
    return time.perf_counter() - start


def synthetic_quality(lr, dropout, step, steps):
    """worker/synthetic.cc's SyntheticQuality: only its cost matters here."""
    import math
    peak = 0.9 * math.exp(-((math.log10(max(lr, 1e-12)) + 3.0) ** 2) / 2.0) * (1.0 - 0.3 * dropout)
    return min(1.0, max(0.0, peak * (1.0 - math.exp(-3.0 * step / max(1, steps)))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10000)
    parser.add_argument("--peer-trials", type=int, default=2000, help="Optuna's trials (its cost per trial is flat)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--step-ms", type=float, default=10.0)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    ensure_packages("python3-optuna")
    build("polysweep", "polysweep-worker", "polysweep_spm")
    work = tempfile.mkdtemp(prefix="polysweep-bench-trials-")
    work_ms = args.steps * args.step_ms
    try:
        ours = run_polysweep(work, args)
        ideal = args.trials * work_ms / 1000.0 / args.agents
        peer = run_optuna(work, args, args.peer_trials)
        peer_ideal = args.peer_trials * work_ms / 1000.0 / args.agents
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    per_trial = lambda wall, ideal_s, n: (wall - ideal_s) * 1000.0 * args.agents / n
    report("trials", [
        {"name": f"wall time / ideal, {args.trials} trials (peer {args.peer_trials})", "unit": "x",
         "ours": ours / ideal, "peer": peer / peer_ideal, "goal": 1.05, "better": "lower"},
        {"name": "cost per trial beyond its work", "unit": "ms", "ours": per_trial(ours, ideal, args.trials),
         "peer": per_trial(peer, peer_ideal, args.peer_trials), "goal": 1.0, "better": "lower"},
    ], notes=f"{args.trials} trials of {work_ms:g} ms on {args.agents} agents: ideal {ideal:.1f} s, "
             f"polysweep {ours:.1f} s; Optuna {args.peer_trials} trials: ideal {peer_ideal:.1f} s, took {peer:.1f} s. "
             f"Goal: polysweep's wall within 1.05x of the ideal.")


if __name__ == "__main__":
    main()
