// polysweep-worker: one MPI rank. Two ways to start it:
//   launched:  `mpirun -np K polysweep-worker --coordinator EP --sweep S
//              --trial T --attempt A` (the coordinator's launcher does this):
//              the ranks run that one trial;
//   agent:     `srun polysweep-worker --coordinator EP` (pull mode, e.g.
//              slurm/agents.sbatch): rank 0 asks the coordinator for trials
//              and the ranks run them one after another until the sweep is done.
// Every rank announces itself and receives the trial's assignment; rank 0
// reports progress, evaluations and the end.
#include <torch/torch.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include <CLI/CLI.hpp>

#include "common/env.h"
#include "common/failure.h"
#include "common/log.h"
#include "common/worker_command.h"
#include "worker/agent.h"
#include "worker/allocator.h"
#include "worker/comm/communicator.h"
#include "worker/comm/mpi_runtime.h"
#include "worker/heartbeat.h"
#include "worker/reporter.h"
#include "worker/synthetic.h"
#include "worker/threads.h"
#include "worker/trainer.h"

using namespace polysweep;

namespace {

// "JOB.STEP" when this rank runs under srun ("ARRAYJOB_TASK.STEP" in a job
// array), "" otherwise. MPI itself learns rank and size from PMIx under srun
// and from mpirun otherwise, so the same binary runs under both.
std::string SlurmStep() {
  if (GetEnv("SLURM_JOB_ID").empty() || GetEnv("SLURM_STEP_ID").empty()) return "";
  const std::string array = GetEnv("SLURM_ARRAY_JOB_ID");
  const std::string job = array.empty() ? GetEnv("SLURM_JOB_ID") : array + "_" + GetEnv("SLURM_ARRAY_TASK_ID");
  return job + "." + GetEnv("SLURM_STEP_ID");
}

// The only process-wide state of a rank: what the preemption signal handler sets.
std::atomic<bool> g_preempt{false};
void OnPreempt(int) { g_preempt = true; }

struct Connection {
  zmq::context_t* ctx = nullptr;  // the process's, shared by every socket of every trial
  std::string endpoint;
  std::optional<CurveClientKeys> curve;
  double timeout_seconds = 300;
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000)); }
};

// Runs trial `id` on every rank of the job. A fatal error on any rank ends
// the whole job (rank 0 first tells the coordinator why), so no rank waits
// in a collective.
// `given`: rank 0's assignment when its agent's claim already brought it.
TrainResult RunOneTrial(MpiRuntime& mpi, const Connection& conn, TrialIdentity id, const std::string& slurm_step,
                        const wire::Assignment* given = nullptr) {
  id.rank = mpi.rank();
  Logger log("trial " + std::to_string(id.trial) + " attempt " + std::to_string(id.attempt) + " rank " +
             std::to_string(mpi.rank()) + "/" + std::to_string(mpi.size()) + " host " + mpi.host() +
             (slurm_step.empty() ? "" : " slurm " + slurm_step));
  CoordinatorClient client(*conn.ctx, conn.endpoint, id, conn.curve, conn.timeout(), log);
  auto assignment = given ? StatusOr<wire::Assignment>(*given)
                          : client.Hello(mpi.size(), mpi.host(), static_cast<int>(getpid()), slurm_step);
  if (!assignment.ok()) {
    log.Error(assignment.status().message());
    mpi.Abort(3);
  }
  // The failure's class travels typed (and by name, for older coordinators).
  auto fail = [&](const Status& status, int code) {
    log.Error(status.message());
    if (mpi.rank() == 0) {
      wire::TrialEnd end;
      end.set_error(status.message());
      end.set_failure(FailureFromStatus(status));
      end.set_reason(FailureClassName(end.failure()));
      (void)client.End(end);
    }
    mpi.Abort(code);
  };
  const ThreadChoice threads = ChooseRankThreads(assignment->threads(), mpi.local_cpus(), mpi.local_size());
  SetComputeThreads(threads.threads);
  if (!threads.note.empty() && mpi.local_rank() == 0) log.Info(threads.note);
  CommOptions comm_options;
  if (assignment->collective_timeout_seconds() > 0) comm_options.timeout_seconds = assignment->collective_timeout_seconds();
  auto comm = MakeCommunicator(assignment->backend(), mpi, comm_options);
  if (!comm.ok()) fail(comm.status().As(StatusCode::kInvalidConfig), 4);
  Liveness liveness;
  std::optional<HeartbeatSender> heartbeat;
  if (assignment->heartbeat_seconds() > 0) {
    heartbeat.emplace(*conn.ctx, conn.endpoint, id, conn.curve, liveness, assignment->heartbeat_seconds(), mpi.host(),
                      static_cast<int>(getpid()));
  }
  StatusOr<TrainResult> result = Status::Error("not run");
  try {
    Reporter* reporter = mpi.rank() == 0 ? &client : nullptr;
    result = assignment->synthetic_step_ms() > 0
                 ? RunSyntheticTrial(*assignment, comm->get(), reporter, &liveness, &g_preempt)
                 : RunTrial(*assignment, comm->get(), reporter, log, &liveness, &g_preempt);
  } catch (const std::bad_alloc&) {
    fail(Status::ResourceExhausted("out of memory"), 6);
  } catch (const c10::OutOfMemoryError& e) {
    fail(Status::ResourceExhausted(e.what_without_backtrace()), 6);
  } catch (const c10::Error& e) {
    fail(Status::Error(e.what_without_backtrace()), 5);
  }
  if (!result.ok()) fail(result.status(), 5);
  if (mpi.rank() == 0) {
    wire::TrialEnd end;
    end.set_steps(result->steps);
    end.set_seconds(result->seconds);
    end.set_preempted(result->preempted);
    end.set_paused(result->paused);
    end.set_stopped(result->stopped);
    end.set_early_stopped(result->early_stopped);
    Status s = client.End(end);
    if (!s.ok()) log.Warn("end of trial not acknowledged: " + s.message());
  }
  heartbeat.reset();
  log.Info("done: " + std::to_string(result->steps) + " steps in " + std::to_string(result->seconds) + " s");
  return *result;
}

// Pull mode: claims and runs trials until the sweep is done (0), the agent
// is preempted (0: SIGUSR1 before or during a trial, whose checkpoint the
// coordinator hands to another agent), or the coordinator refuses or cannot
// be reached (3).
int RunAgent(MpiRuntime& mpi, const Connection& conn, AgentIdentity me) {
  Logger log("agent " + me.name + " rank " + std::to_string(mpi.rank()) + "/" + std::to_string(mpi.size()) +
             " host " + mpi.host());
  std::optional<RequestClient> client;
  if (mpi.rank() == 0) {
    client.emplace(*conn.ctx, conn.endpoint, conn.curve);
    log.Info("asking " + conn.endpoint + " for trials");
  }
  int trials = 0;
  for (uint64_t number = 1;; ++number) {
    // Rank 0 decides; every rank learns the decision: "O" and an Offer, or "E" and why the agent ends.
    wire::Offer offer;
    std::string error;
    if (mpi.rank() == 0) {
      if (g_preempt) {
        offer.set_done(true);
        error = "preempted";
      } else if (auto got = ClaimTrial(*client, me, number, conn.timeout(), log); got.ok()) {
        offer = *got;
      } else {
        error = got.status().message();
      }
    }
    std::string text = mpi.rank() == 0 ? (error.empty() ? "O" + offer.SerializeAsString() : "E" + error) : "";
    text = mpi.Broadcast(text);
    if (text.empty() || text[0] == 'E') {
      const std::string why = text.empty() ? "empty decision" : text.substr(1);
      if (why == "preempted") {
        if (mpi.rank() == 0) log.Info("preempted after " + std::to_string(trials) + " trials: asking for no more");
        return 0;
      }
      if (mpi.rank() == 0) log.Error(why);
      return 3;
    }
    offer.ParseFromString(text.substr(1));
    if (offer.done()) {
      if (mpi.rank() == 0) log.Info("sweep " + offer.sweep() + " is done; this agent ran " + std::to_string(trials) + " trials");
      return 0;
    }
    if (offer.trial() == 0) {
      if (mpi.rank() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(std::max<uint32_t>(offer.wait_ms(), 100)));
      continue;
    }
    TrialIdentity id;
    id.sweep = offer.sweep();
    id.trial = offer.trial();
    id.attempt = offer.attempt();
    const TrainResult result = RunOneTrial(mpi, conn, id, me.slurm_step,
                                           mpi.rank() == 0 && offer.has_assignment() ? &offer.assignment() : nullptr);
    ++trials;
    if (result.preempted) {
      if (mpi.rank() == 0) log.Info("preempted in trial " + std::to_string(id.trial) + ": asking for no more trials");
      return 0;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  polysweep::KeepFreedMemory();
  MpiRuntime mpi(&argc, &argv);
  zmq::context_t ctx(1);  // after MpiRuntime: destroyed before MPI_Finalize
  CLI::App app{"polysweep-worker: one MPI rank of a polysweep trial, or of an agent that asks for trials"};
  Connection conn;
  conn.ctx = &ctx;
  TrialIdentity id;
  std::string agent_name;
  app.add_option(WorkerFlags::kCoordinator, conn.endpoint, "coordinator endpoint, e.g. tcp://host:port")->required();
  app.add_option(WorkerFlags::kSweep, id.sweep, "sweep name (an agent checks it against the coordinator's)");
  auto* trial = app.add_option(WorkerFlags::kTrial, id.trial, "trial id; without it this job is an agent asking for trials");
  auto* attempt = app.add_option(WorkerFlags::kAttempt, id.attempt, "attempt number (fencing token)");
  trial->needs(attempt);
  attempt->needs(trial);
  app.add_option(WorkerFlags::kAgent, agent_name, "an agent's name (default: its Slurm job, or host:pid)")->excludes(trial);
  app.add_option(WorkerFlags::kCoordinatorTimeout, conn.timeout_seconds,
                 "seconds to keep resending reports while the coordinator is unreachable");
  std::string keys_dir;
  app.add_option(WorkerFlags::kKeys, keys_dir, "the sweep's key directory: connect with CURVE as the sweep's ranks");
  try {
    app.parse(argc, argv);
    if (*trial && id.sweep.empty()) throw CLI::RequiredError("--sweep (with --trial)");
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    if (mpi.size() > 1) mpi.Abort(code);
    return code;
  }
  const std::string slurm_step = SlurmStep();
  Logger log("rank " + std::to_string(mpi.rank()) + "/" + std::to_string(mpi.size()) + " host " + mpi.host());
  if (!GetEnv("SLURM_PROCID").empty() && GetEnv("SLURM_PROCID") != std::to_string(mpi.rank())) {
    log.Warn("SLURM_PROCID " + GetEnv("SLURM_PROCID") + " differs from the MPI rank: srun without --mpi=pmix?");
  }
  if (!keys_dir.empty()) {
    SweepKeyFiles keys(keys_dir);
    auto server = LoadPublicKey(keys.coordinator() + ".pub");
    auto mine = LoadKeyPair(keys.worker() + ".key");
    if (!server.ok() || !mine.ok()) {
      log.Error((server.ok() ? mine.status() : server.status()).message());
      mpi.Abort(2);
    }
    conn.curve = CurveClientKeys{*server, *mine};
  }
  // SIGUSR1 (Slurm's --signal, or `kill -USR1` on any rank) asks the trial to
  // checkpoint and stop; the coordinator requeues it without spending a restart.
  struct sigaction sa {};
  sa.sa_handler = OnPreempt;
  sigaction(SIGUSR1, &sa, nullptr);
  if (!*trial) {
    AgentIdentity me;
    me.host = mpi.host();
    me.pid = static_cast<int>(getpid());
    // Every rank needs the name only for its logs; rank 0's is the one used.
    me.name = mpi.Broadcast(AgentName(agent_name, me.host, me.pid));
    me.sweep = id.sweep;
    me.world_size = mpi.size();
    me.slurm_step = slurm_step;
    return RunAgent(mpi, conn, me);
  }
  RunOneTrial(mpi, conn, id, slurm_step);
  return 0;
}
