"""A campaign run's plan, drawn from its seed alone: the sweep (synthetic or
real trials, FIFO or ASHA, how many at once, launched or pull-mode agents)
and the faults (what, when). The same seed gives the same plan."""

import random

FAULTS = ("coordinator_kill", "coordinator_stop", "rank_kill", "trial_kill", "rank_stop_short",
          "rank_stop_long", "preempt", "coordinator_and_rank", "agent_kill")

# Faults that make sense in pull mode: the agents' trials are not the
# coordinator's processes, so a hung agent is the agent's own affair.
AGENT_FAULTS = ("coordinator_kill", "coordinator_stop", "agent_kill", "preempt", "coordinator_and_rank")

HANG_TIMEOUT = 4.0


def draw(seed, data_file, shard_dir, real_share=0.4):
    rng = random.Random(seed)
    real = rng.random() < real_share
    agents = rng.random() < 0.2
    plan = {
        "seed": seed,
        "real": real,
        # Synthetic trials keep no checkpoints to pause at: FIFO only.
        "scheduler": rng.choice(["fifo", "asha"]) if real else "fifo",
        "promote_in_place": rng.random() < 0.5,
        "max_concurrent": rng.randint(1, 3),
        "agents": rng.randint(1, 2) if agents else 0,
        "trials": rng.randint(3, 6),
        "ranks": 2 if real else rng.randint(1, 2),
    }
    if real:
        plan["steps"] = rng.choice([60, 90, 120])
        plan["eval_every"] = plan["steps"] // rng.choice([2, 3])
        plan["checkpoint_every"] = rng.choice([20, 30, 50])
        per_trial = 1.5 + plan["steps"] * 0.03
    else:
        plan["steps"] = rng.randint(150, 300)
        plan["step_ms"] = rng.choice([10, 15, 20])
        plan["eval_every"] = plan["steps"] // rng.choice([3, 5])
        per_trial = 0.8 + plan["steps"] * plan["step_ms"] / 1000
    slots = plan["agents"] or plan["max_concurrent"]
    plan["estimate"] = per_trial * plan["trials"] / slots
    kinds = AGENT_FAULTS if agents else FAULTS[:-1]
    faults = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(kinds)
        fault = {"kind": kind, "at": round(rng.uniform(0.5, max(1.0, 0.8 * plan["estimate"])), 2)}
        if kind in ("coordinator_kill", "coordinator_and_rank"):
            fault["down"] = round(rng.choice([0, 0.5, 2, 4]) * rng.random(), 2)
        if kind == "coordinator_stop":
            fault["down"] = round(rng.uniform(0.5, 5), 2)
        if kind == "rank_stop_short":
            fault["down"] = round(rng.uniform(0.2, HANG_TIMEOUT / 2), 2)
        fault["pick"] = rng.random()  # which trial, rank or agent: the n-th of those alive then
        faults.append(fault)
    plan["faults"] = sorted(faults, key=lambda f: f["at"])
    plan["config"] = config(plan, data_file, shard_dir)
    return plan


def config(plan, data_file, shard_dir):
    name = f"chaos{plan['seed']}"
    trial = {
        "ranks": plan["ranks"], "max_restarts": 50, "heartbeat_seconds": 0.5,
        "hang_timeout_seconds": HANG_TIMEOUT, "start_timeout_seconds": 60, "coordinator_timeout_seconds": 120,
    }
    if plan["agents"]:
        trial["launcher"] = "agents"
    lines = [f"name: {name}", "output_dir: OUTPUT", f"max_concurrent: {plan['max_concurrent']}"]
    if plan["real"]:
        trial.update({"checkpoint_every": plan["checkpoint_every"], "keep_checkpoints": 2})
        lines += [f"data: {{files: [{data_file}], group_field: group, max_per_language: 120, vocab_size: 2000, "
                  f"shard_dir: {shard_dir}}}",
                  "model: {layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 32}"]
    else:
        trial["synthetic_step_ms"] = plan["step_ms"]
        lines += [f"data: {{files: [{data_file}], group_field: group, max_per_language: 120, vocab_size: 2000, "
                  f"shard_dir: {shard_dir}}}"]
    lines.append("trial: {" + ", ".join(f"{k}: {v}" for k, v in trial.items()) + "}")
    lines.append("search: {algorithm: random, seed: %d, space: {lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}, "
                 "dropout: {type: uniform, low: 0.0, high: 0.3}}}" % plan["seed"])
    if plan["scheduler"] == "asha":
        lines.append("scheduler: {type: asha, grace: %d, reduction_factor: 2, promote_in_place: %s}"
                     % (plan["eval_every"], "true" if plan["promote_in_place"] else "false"))
    lines.append(f"budget: {{max_trials: {plan['trials']}, max_steps: {plan['steps']}, "
                 f"eval_every: {plan['eval_every']}, log_every: 10}}")
    return "\n".join(lines) + "\n"
