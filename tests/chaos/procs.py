"""The processes of a sweep, found in /proc by their command lines, and the
signals the campaign sends them."""

import os
import signal


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def alive(pid):
    """A live process: a zombie waiting for its reaper is dead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return False
    state = text[text.rfind(")") + 2:][:1]
    return state not in ("Z", "X", "")


def _arg(args, name):
    try:
        return args[args.index(name) + 1]
    except (ValueError, IndexError):
        return None


def workers(sweep):
    """Every live process that runs polysweep-worker for `sweep`, as dicts:
    pid, rank (True for a rank, False for its mpirun), trial (None for an
    agent), attempt, agent (an agent's name)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        args = _cmdline(entry)
        if not args or not any(a.endswith("polysweep-worker") for a in args):
            continue
        if _arg(args, "--sweep") != sweep or not alive(int(entry)):
            continue
        trial = _arg(args, "--trial")
        found.append({
            "pid": int(entry),
            "rank": args[0].endswith("polysweep-worker"),
            "trial": int(trial) if trial else None,
            "attempt": int(_arg(args, "--attempt") or 0),
            "agent": _arg(args, "--agent"),
        })
    return found


def ranks(sweep, trial=None):
    return [p for p in workers(sweep) if p["rank"] and (trial is None or p["trial"] == trial)]


def send(pid, sig):
    """Sends `sig`; False when the process is already gone."""
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def kill_all(pids):
    for pid in pids:
        send(pid, signal.SIGCONT)
        send(pid, signal.SIGKILL)
