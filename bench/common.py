"""Shared helpers for polysweep benchmarks: timing, the results file, the table."""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")


def build(*targets):
    subprocess.run([os.path.join(ROOT, "scripts", "build"), *targets], check=True,
                   stdout=subprocess.DEVNULL)


def ensure_packages(*packages):
    """Installs Debian packages a benchmark's peer needs, when missing."""
    missing = [p for p in packages if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True).stdout.find("install ok installed") < 0]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print(f"installing {' '.join(missing)} (the peer of this benchmark)", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                   check=True, env=env, stdout=subprocess.DEVNULL)


def timed(cmd, **kwargs):
    """Runs cmd, returns wall seconds; raises with its stderr on failure."""
    start = time.perf_counter()
    r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, **kwargs)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"benchmark command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return seconds


def report(name, figures, notes=""):
    """figures: dicts with name, unit, ours, peer, goal, better."""
    for f in figures:
        f["ratio"] = round(f["ours"] / f["peer"], 3) if f["peer"] else None
    path = os.path.join(ROOT, "bench", "results", f"{name}.json")
    with open(path, "w") as out:
        json.dump({"figures": figures}, out, indent=2)
    rows = [["figure", "unit", "polysweep", "peer", "ratio", "goal", "better"]]
    for f in figures:
        rows.append([f["name"], f["unit"], f"{f['ours']:.3f}", f"{f['peer']:.3f}",
                     f"{f['ratio']:.2f}x" if f["ratio"] is not None else "-", f"{f['goal']}x", f["better"]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    if notes:
        print(notes)
    print(f"written: {os.path.relpath(path, ROOT)}")
