#!/usr/bin/env python3
"""The randomized fault campaign (scripts/chaos-campaign).

Run i of a campaign started with --seed S uses seed S+i: the seed alone
draws its sweep (synthetic or real trials, FIFO or ASHA, max_concurrent 1-3,
launched by mpirun or run by pull-mode agents) and its faults (SIGKILL or
SIGSTOP of the coordinator, SIGKILL, SIGSTOP/SIGCONT or SIGUSR1 of a rank,
SIGKILL of a whole trial or an agent, the coordinator and a rank together),
each at a time drawn from the seed. `--runs 1 --seed X` runs run X again
with the same plan (process timing differs from run to run, as on a cluster).

After every run the sweep must have finished with every trial completed or
pruned, `polysweep check` must find no violation, and nothing may be left
running. A failing run's directory is kept and named.

--downtimes 0,5,30 instead measures what a coordinator's downtime costs:
a clean sweep, then the same sweep with the coordinator killed mid-way and
restarted after each downtime (the figures docs/reliability.md gives).
"""

import argparse
import collections
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import plan as plans  # noqa: E402
from run import Run  # noqa: E402
from downtime import measure_downtimes  # noqa: E402


def describe(p):
    kind = "real" if p["real"] else f"synthetic {p['step_ms']} ms/step"
    mode = f"{p['agents']} agents" if p["agents"] else f"max_concurrent {p['max_concurrent']}"
    return (f"{p['trials']} trials x {p['steps']} steps ({kind}, {p['ranks']} ranks), {p['scheduler']}"
            f"{' in place' if p['scheduler'] == 'asha' and p['promote_in_place'] else ''}, {mode}")


def summary(results, seconds):
    applied = collections.Counter()
    skipped = collections.Counter()
    late = collections.Counter()
    for r in results:
        for a in r["applied"]:
            if a["kind"] == "then":
                continue
            (applied if a["did"] else late if a.get("late") else skipped)[a["kind"]] += 1
    failed = [r for r in results if not r["ok"]]
    lines = [f"campaign: {len(results)} runs in {seconds / 60:.1f} min, {len(results) - len(failed)} passed, "
             f"{len(failed)} failed, {sum(len(r['violations']) for r in results)} violations",
             f"{'fault':<22} {'injected':>8} {'nothing to hit':>14} {'after the end':>13}"]
    for kind in plans.FAULTS:
        lines.append(f"{kind:<22} {applied[kind]:>8} {skipped[kind]:>14} {late[kind]:>13}")
    lines.append(f"{'total':<22} {sum(applied.values()):>8} {sum(skipped.values()):>14} {sum(late.values()):>13}")
    restarts = sum(r["coordinator_starts"] - 1 for r in results)
    lines.append(f"coordinator restarts: {restarts}; coordinator downtime: {sum(r['downtime'] for r in results):.0f} s")
    for r in failed:
        lines.append(f"FAILED seed {r['seed']}: reproduce with scripts/chaos-campaign --runs 1 --seed {r['seed']} "
                     f"(kept in {r['dir']})")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--build", default="build", help="the build directory (its bin/ holds polysweep)")
    ap.add_argument("--data", default="data/default/ddtp.jsonl", help="the default dataset")
    ap.add_argument("--root", default="/tmp/polysweep-chaos", help="where runs live (a failing run's directory stays)")
    ap.add_argument("--out", default="build/chaos/campaign.json", help="every run's plan and outcome, as JSON")
    ap.add_argument("--keep", action="store_true", help="keep passing runs' directories too")
    ap.add_argument("--timeout", type=float, default=600, help="seconds a run may take before it fails")
    ap.add_argument("--downtimes", help="instead: a clean sweep and sweeps with these coordinator downtimes (s)")
    args = ap.parse_args()
    polysweep = os.path.abspath(os.path.join(args.build, "bin", "polysweep"))
    worker = os.path.abspath(os.path.join(args.build, "bin", "polysweep-worker"))
    data = os.path.abspath(args.data)
    for need in (polysweep, worker, data):
        if not os.path.exists(need):
            sys.exit(f"chaos-campaign: {need} is missing (scripts/build, scripts/make-default-data)")
    os.makedirs(args.root, exist_ok=True)
    if args.downtimes:
        downtimes = [float(d) for d in args.downtimes.split(",")]
        return measure_downtimes(downtimes, args.root, polysweep, data, args.out)
    shards = os.path.join(args.root, "shards")
    results, start = [], time.monotonic()
    for i in range(args.runs):
        seed = args.seed + i
        p = plans.draw(seed, data, shards)
        run_dir = os.path.join(args.root, f"run-{seed}")
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"run {i + 1}/{args.runs} seed {seed}: {describe(p)}; faults: "
              + ", ".join(f"{f['kind']}@{f['at']}s" for f in p["faults"]), flush=True)
        r = Run(p, run_dir, polysweep, worker).execute(args.timeout)
        r.update({"plan": {k: v for k, v in p.items() if k != "config"}, "dir": run_dir})
        results.append(r)
        for a in r["applied"]:
            did = a["did"] or ("not reached: the sweep had ended" if a.get("late") else "nothing to hit")
            print(f"    +{a['at']:.2f} s {a['kind']}: {did}", flush=True)
        verdict = "ok" if r["ok"] else "FAILED: " + "; ".join(r["problems"] + [v["what"] for v in r["violations"]])
        print(f"    {verdict} ({r['wall']:.1f} s, {r['coordinator_starts']} coordinator starts)", flush=True)
        if r["ok"] and not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    seconds = time.monotonic() - start
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"seed": args.seed, "runs": args.runs, "seconds": round(seconds, 1), "results": results}, f, indent=1)
    print(summary(results, seconds))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
