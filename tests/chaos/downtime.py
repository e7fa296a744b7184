"""What a coordinator's downtime costs a sweep (scripts/chaos-campaign
--downtimes 0,5,30): the sweep of CoordinatorRestart's test (4 real trials
of 600 steps, 2 ranks, 2 at a time) run clean, then once per downtime with
the coordinator killed while two trials are past step 150 and started again
after that downtime. Each run must pass `polysweep check`."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time

from run import MPIRUN_ENV

CONFIG = """name: {name}
output_dir: {out}
max_concurrent: 2
data: {{files: [{data}], group_field: group, max_per_language: 120, vocab_size: 2000, shard_dir: {shards}}}
model: {{layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 32}}
trial: {{ranks: 2, checkpoint_every: 50, heartbeat_seconds: 0.5, hang_timeout_seconds: 30}}
search: {{algorithm: random, seed: 11, space: {{lr: {{type: loguniform, low: 0.001, high: 0.01}}}}}}
budget: {{max_trials: 4, max_steps: 600, log_every: 5, eval_every: 200}}
"""


def running_past(journal, step):
    try:
        db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
        n = db.execute("SELECT COUNT(*) FROM trials t WHERE state='running' AND "
                       "(SELECT MAX(step) FROM progress p WHERE p.trial_id=t.id) >= ?", (step,)).fetchone()[0]
        db.close()
        return n
    except sqlite3.Error:
        return 0


def sweep(root, name, polysweep, data, downtime):
    """Wall seconds of one sweep; the coordinator killed and restarted after
    `downtime` seconds unless it is None."""
    run_dir = os.path.join(root, name)
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    out = os.path.join(run_dir, "sweep")
    config = os.path.join(run_dir, "sweep.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(name=name, out=out, data=data, shards=os.path.join(root, "shards-downtime")))
    env = dict(os.environ, **MPIRUN_ENV)
    log = open(os.path.join(run_dir, "coordinator.log"), "ab")
    command = [polysweep, "sweep", config, "--no-dashboard"]
    start = time.monotonic()
    p = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    if downtime is not None:
        while running_past(os.path.join(out, "journal.db"), 150) < 2 and p.poll() is None:
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait()
        time.sleep(downtime)
        p = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    code = p.wait()
    wall = time.monotonic() - start
    check = subprocess.run([polysweep, "check", "--dir", out], capture_output=True, text=True)
    ok = code == 0 and check.returncode == 0
    if ok:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(check.stdout + check.stderr)
    return wall, ok


def measure_downtimes(downtimes, root, polysweep, data, out_path):
    clean, clean_ok = sweep(root, "downtime-clean", polysweep, data, None)
    rows = [("clean", clean, 1.0, clean_ok)]
    for d in downtimes:
        wall, ok = sweep(root, f"downtime-{int(d)}", polysweep, data, d)
        rows.append((f"{d:g} s", wall, wall / clean, ok))
    print(f"{'coordinator down':<17} {'sweep wall':>10} {'x clean':>8}  check")
    for what, wall, ratio, ok in rows:
        print(f"{what:<17} {wall:>9.1f}s {ratio:>8.2f}  {'ok' if ok else 'FAILED'}")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump({"downtimes": [{"downtime": w, "wall": round(s, 2), "ratio": round(r, 3), "ok": ok}
                                 for w, s, r, ok in rows]}, f, indent=1)
    return 0 if all(ok for *_, ok in rows) else 1
