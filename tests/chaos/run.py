"""One campaign run: sweeps the plan's config with the real `polysweep sweep`
(and, in pull mode, agents started with mpirun), injects the plan's faults
at their times, restarts what a user would restart (the coordinator with the
same command, an agent that died), waits for the sweep to end, and judges
it: the coordinator's last exit, `polysweep check` on the sweep directory,
no failed trial, nothing left running."""

import json
import os
import signal
import sqlite3
import subprocess
import time

import procs
from plan import HANG_TIMEOUT

MPIRUN_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"}


class Run:
    def __init__(self, plan, run_dir, polysweep, worker):
        self.plan = plan
        self.dir = run_dir
        self.out = os.path.join(run_dir, "sweep")
        self.polysweep = polysweep
        self.worker = worker
        self.name = f"chaos{plan['seed']}"
        self.config = os.path.join(run_dir, "sweep.yaml")
        self.env = dict(os.environ, **MPIRUN_ENV)
        self.coordinator = None
        self.starts = 0
        self.agents = {}         # name -> Popen
        self.agent_log_at = {}   # name -> where its current process's lines start in its log
        self.pending = []        # (when, description, action)
        self.applied = []        # what was done, for the record
        self.downtime = 0.0      # the coordinator's, summed
        self.killed_coordinator = False
        self.coordinator_stopped_until = 0.0
        self.t0 = 0.0

    # -- processes ---------------------------------------------------------
    def start_coordinator(self):
        self.starts += 1
        log = open(os.path.join(self.dir, "coordinator.log"), "ab")
        log.write(f"=== start {self.starts} at +{self.now():.2f} s\n".encode())
        log.flush()
        self.coordinator = subprocess.Popen([self.polysweep, "sweep", self.config, "--no-dashboard"], cwd=self.dir,
                                            stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)
        self.killed_coordinator = False

    def endpoint(self):
        try:
            with open(os.path.join(self.out, "coordinator.endpoint")) as f:
                return f.readline().strip()
        except OSError:
            return ""

    def keep_agents(self, done):
        """Pull mode: as a user's job array would, keeps the plan's agents
        running (restarting one that died) until the sweep is done."""
        if not self.plan["agents"] or done:
            return
        endpoint = self.endpoint()
        if not endpoint:
            return
        for k in range(self.plan["agents"]):
            name = f"agent{k}"
            p = self.agents.get(name)
            if p is not None and (p.poll() is None or self.dismissed(name)):
                continue
            log = open(os.path.join(self.dir, f"{name}.log"), "ab")
            self.agent_log_at[name] = log.tell()
            self.agents[name] = subprocess.Popen(
                ["mpirun", "-np", str(self.plan["ranks"]), "--oversubscribe", "--bind-to", "none", self.worker,
                 "--coordinator", endpoint, "--sweep", self.name, "--agent", name],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)

    def dismissed(self, name):
        """Whether agent `name`'s last process exited because the sweep was done."""
        try:
            with open(os.path.join(self.dir, f"{name}.log"), "rb") as f:
                f.seek(self.agent_log_at.get(name, 0))
                return b" is done; this agent ran " in f.read()
        except OSError:
            return False

    def now(self):
        return time.monotonic() - self.t0

    def pick(self, items, fraction):
        return items[min(len(items) - 1, int(fraction * len(items)))] if items else None

    # -- faults ------------------------------------------------------------
    def later(self, delay, what, action):
        self.pending.append((self.now() + delay, what, action))

    def stop_coordinator_for(self, down):
        os.kill(self.coordinator.pid, signal.SIGSTOP)
        self.downtime += down
        self.coordinator_stopped_until = self.now() + down
        self.later(down, "SIGCONT coordinator", lambda: procs.send(self.coordinator.pid, signal.SIGCONT))

    def kill_coordinator(self, down):
        procs.send(self.coordinator.pid, signal.SIGCONT)
        procs.send(self.coordinator.pid, signal.SIGKILL)
        self.coordinator.wait()
        self.killed_coordinator = True
        self.downtime += down
        self.later(down, "restart coordinator", self.start_coordinator)

    def coordinator_up(self):
        """Running, and neither killed nor stopped by the campaign."""
        return (self.coordinator is not None and not self.killed_coordinator and self.coordinator.poll() is None
                and self.now() >= self.coordinator_stopped_until)

    def apply(self, fault):
        """Applies `fault` now; what it did, or None when there was nothing to do."""
        kind, pick = fault["kind"], fault["pick"]
        launched = [p for p in procs.ranks(self.name) if p["trial"] is not None]
        if kind in ("coordinator_kill", "coordinator_stop", "coordinator_and_rank") and not self.coordinator_up():
            return None
        if kind == "coordinator_kill":
            self.kill_coordinator(fault["down"])
            return f"SIGKILL coordinator, down {fault['down']} s"
        if kind == "coordinator_stop":
            self.stop_coordinator_for(fault["down"])
            return f"SIGSTOP coordinator for {fault['down']} s"
        if kind == "coordinator_and_rank":
            down = max(fault["down"], 1.0)
            self.kill_coordinator(down + 1.0)
            self.later(down, "SIGKILL a rank while the coordinator is down", lambda: self.kill_rank(pick))
            return f"SIGKILL coordinator, a rank {down} s later, coordinator back after {down + 1.0} s"
        if kind == "agent_kill":
            agents = sorted(self.agents.items())
            name, p = self.pick(agents, pick) if agents else (None, None)
            if p is None or p.poll() is not None:
                return None
            procs.kill_all([p.pid] + [w["pid"] for w in procs.workers(self.name) if w["agent"] == name])
            return f"SIGKILL {name} (mpirun and its ranks)"
        if kind == "preempt":
            ranks = procs.ranks(self.name)
            r = self.pick(ranks, pick)
            return r and procs.send(r["pid"], signal.SIGUSR1) and f"SIGUSR1 rank pid {r['pid']} (trial {r['trial']})"
        r = self.pick(launched, pick)
        if r is None:
            return None
        if kind == "rank_kill":
            return procs.send(r["pid"], signal.SIGKILL) and f"SIGKILL rank of trial {r['trial']} attempt {r['attempt']}"
        if kind == "trial_kill":
            pids = [w["pid"] for w in procs.workers(self.name) if w["trial"] == r["trial"] and w["attempt"] == r["attempt"]]
            procs.kill_all(pids)
            return f"SIGKILL trial {r['trial']} attempt {r['attempt']} ({len(pids)} processes)"
        down = fault.get("down", 3 * HANG_TIMEOUT)
        if not procs.send(r["pid"], signal.SIGSTOP):
            return None
        self.later(down, "SIGCONT rank", lambda: procs.send(r["pid"], signal.SIGCONT))
        return f"SIGSTOP rank of trial {r['trial']} attempt {r['attempt']} for {down} s"

    def kill_rank(self, pick):
        r = self.pick(procs.ranks(self.name), pick)
        return r and procs.send(r["pid"], signal.SIGKILL) and f"SIGKILL rank of trial {r['trial']}"

    # -- the run -----------------------------------------------------------
    def execute(self, timeout):
        os.makedirs(self.dir, exist_ok=True)
        with open(self.config, "w") as f:
            f.write(self.plan["config"].replace("OUTPUT", self.out))
        self.t0 = time.monotonic()
        self.start_coordinator()
        faults = list(self.plan["faults"])
        deadline = self.now() + timeout
        while self.now() < deadline:
            due = [p for p in self.pending if p[0] <= self.now()]
            self.pending = [p for p in self.pending if p[0] > self.now()]
            for _, what, action in due:
                result = action()
                self.applied.append({"at": round(self.now(), 2), "kind": "then",
                                     "did": result if isinstance(result, str) else what})
            while faults and faults[0]["at"] <= self.now():
                fault = faults.pop(0)
                did = self.apply(fault)
                self.applied.append({"at": round(self.now(), 2), "kind": fault["kind"], "did": did})
            finished = not self.pending and not self.killed_coordinator and self.coordinator.poll() is not None
            self.keep_agents(finished)
            if finished:
                break
            time.sleep(0.05)
        for fault in faults:  # the sweep ended first
            self.applied.append({"at": round(self.now(), 2), "kind": fault["kind"], "did": None, "late": True})
        return self.judge(timed_out=self.now() >= deadline)

    def judge(self, timed_out):
        wall = self.now()
        problems = []
        if timed_out:
            problems.append(f"the sweep did not end within {wall:.0f} s")
            procs.kill_all([self.coordinator.pid])
        elif self.coordinator.returncode != 0 and not self.restarted_after_the_end():
            problems.append(f"the last coordinator exited with {self.coordinator.returncode}")
        # Agents are told the sweep is over and exit; trials end with it.
        end = time.monotonic() + 20
        while time.monotonic() < end and (procs.workers(self.name) or any(p.poll() is None for p in self.agents.values())):
            time.sleep(0.1)
        left = procs.workers(self.name)
        if left:
            problems.append(f"{len(left)} processes left: " + ", ".join(str(p["pid"]) for p in left))
        check = subprocess.run([self.polysweep, "check", "--dir", self.out, "-o", "json"], capture_output=True, text=True)
        violations = []
        if check.returncode not in (0, 1):
            problems.append("polysweep check failed: " + check.stderr.strip())
        else:
            violations = json.loads(check.stdout)["violations"]
            with open(os.path.join(self.dir, "check.txt"), "w") as f:
                f.write(subprocess.run([self.polysweep, "check", "--dir", self.out, "--no-processes"],
                                       capture_output=True, text=True).stdout)
        states = self.trial_states()
        failed = [t for t, s in states.items() if s not in ("completed", "pruned")]
        if failed:
            problems.append("trials not completed or pruned: " + ", ".join(f"{t} {states[t]}" for t in failed))
        for p in self.agents.values():
            if p.poll() is None:
                p.kill()
            p.wait()
        procs.kill_all([p["pid"] for p in procs.workers(self.name)])
        return {"seed": self.plan["seed"], "wall": round(wall, 2), "downtime": round(self.downtime, 2),
                "coordinator_starts": self.starts, "applied": self.applied, "violations": violations,
                "problems": problems, "ok": not problems and not violations}

    def restarted_after_the_end(self):
        """Killed after its sweep had finished, the coordinator's restart is
        refused (exit 2): what a user who reran the command would see."""
        if self.coordinator.returncode != 2:
            return False
        with open(os.path.join(self.dir, "coordinator.log"), "rb") as f:
            return b"has finished; pass --overwrite" in f.read()[-2000:]

    def trial_states(self):
        try:
            db = sqlite3.connect(f"file:{self.out}/journal.db?mode=ro", uri=True)
            rows = db.execute("SELECT id, state FROM trials").fetchall()
            db.close()
            return dict(rows)
        except sqlite3.Error as e:
            return {0: f"unreadable journal: {e}"}
