// polysweep-worker: one MPI rank of one trial. Started by the coordinator's
// launcher as `mpirun -np K polysweep-worker --coordinator EP --sweep S
// --trial T --attempt A`. Every rank announces itself and receives the
// trial's assignment; rank 0 reports progress, evaluations and the end.
#include <torch/torch.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "common/log.h"
#include "worker/comm/communicator.h"
#include "worker/comm/mpi_runtime.h"
#include "worker/heartbeat.h"
#include "worker/reporter.h"
#include "worker/trainer.h"

using namespace polysweep;

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// "JOB.STEP" when this rank runs under srun ("ARRAYJOB_TASK.STEP" in a job
// array), "" otherwise. MPI itself learns rank and size from PMIx under srun
// and from mpirun otherwise, so the same binary runs under both.
std::string SlurmStep() {
  if (Env("SLURM_JOB_ID").empty() || Env("SLURM_STEP_ID").empty()) return "";
  const std::string array = Env("SLURM_ARRAY_JOB_ID");
  const std::string job = array.empty() ? Env("SLURM_JOB_ID") : array + "_" + Env("SLURM_ARRAY_TASK_ID");
  return job + "." + Env("SLURM_STEP_ID");
}

// The only process-wide state of a rank: what the preemption signal handler sets.
std::atomic<bool> g_preempt{false};
void OnPreempt(int) { g_preempt = true; }
}  // namespace

int main(int argc, char** argv) {
  MpiRuntime mpi(&argc, &argv);
  CLI::App app{"polysweep-worker: one MPI rank of a polysweep trial"};
  std::string endpoint;
  TrialIdentity id;
  app.add_option("--coordinator", endpoint, "coordinator endpoint, e.g. tcp://host:port")->required();
  app.add_option("--sweep", id.sweep, "sweep name")->required();
  app.add_option("--trial", id.trial, "trial id")->required();
  app.add_option("--attempt", id.attempt, "attempt number (fencing token)")->required();
  double coordinator_timeout = 300;
  app.add_option("--coordinator-timeout", coordinator_timeout,
                 "seconds to keep resending reports while the coordinator is unreachable");
  std::string keys_dir;
  app.add_option("--keys", keys_dir, "the sweep's key directory: connect with CURVE as the sweep's ranks");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    if (mpi.size() > 1) mpi.Abort(code);
    return code;
  }
  id.rank = mpi.rank();
  const std::string slurm_step = SlurmStep();
  Logger log("trial " + std::to_string(id.trial) + " attempt " + std::to_string(id.attempt) + " rank " +
             std::to_string(mpi.rank()) + "/" + std::to_string(mpi.size()) + " host " + mpi.host() +
             (slurm_step.empty() ? "" : " slurm " + slurm_step));
  if (!Env("SLURM_PROCID").empty() && Env("SLURM_PROCID") != std::to_string(mpi.rank())) {
    log.Warn("SLURM_PROCID " + Env("SLURM_PROCID") + " differs from the MPI rank: srun without --mpi=pmix?");
  }

  std::optional<CurveClientKeys> curve;
  if (!keys_dir.empty()) {
    SweepKeyFiles keys(keys_dir);
    auto server = LoadPublicKey(keys.coordinator() + ".pub");
    auto mine = LoadKeyPair(keys.worker() + ".key");
    if (!server.ok() || !mine.ok()) {
      log.Error((server.ok() ? mine.status() : server.status()).message());
      mpi.Abort(2);
    }
    curve = CurveClientKeys{*server, *mine};
  }
  CoordinatorClient client(endpoint, id, curve,
                           std::chrono::milliseconds(static_cast<int64_t>(coordinator_timeout * 1000)), log);
  auto assignment = client.Hello(mpi.size(), mpi.host(), static_cast<int>(getpid()), slurm_step);
  if (!assignment.ok()) {
    log.Error(assignment.status().message());
    mpi.Abort(3);
  }
  // A fatal error on any rank: rank 0 tells the coordinator why, then the
  // whole job ends so no rank waits in a collective.
  auto fail = [&](const Status& status, int code, const std::string& reason) {
    log.Error(status.message());
    if (mpi.rank() == 0) {
      wire::TrialEnd end;
      end.set_error(status.message());
      end.set_reason(reason);
      (void)client.End(end);
    }
    mpi.Abort(code);
  };
  torch::set_num_threads(std::max(1, assignment->threads()));
  auto comm = MakeCommunicator(assignment->backend(), mpi);
  if (!comm.ok()) fail(comm.status(), 4, kBadConfig);
  // SIGUSR1 (Slurm's --signal, or `kill -USR1` on any rank) asks the trial to
  // checkpoint and stop; the coordinator requeues it without spending a restart.
  struct sigaction sa {};
  sa.sa_handler = OnPreempt;
  sigaction(SIGUSR1, &sa, nullptr);
  Liveness liveness;
  std::optional<HeartbeatSender> heartbeat;
  if (assignment->heartbeat_seconds() > 0) {
    heartbeat.emplace(endpoint, id, curve, liveness, assignment->heartbeat_seconds(), mpi.host(),
                      static_cast<int>(getpid()));
  }
  std::string reason = "error";
  StatusOr<TrainResult> result = Status::Error("not run");
  try {
    result = RunTrial(*assignment, comm->get(), mpi.rank() == 0 ? &client : nullptr, log, &liveness, &g_preempt,
                      &reason);
  } catch (const std::bad_alloc&) {
    fail(Status::Error("out of memory"), 6, "out of memory");
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    fail(Status::Error(what), 5, what.find("out of memory") != std::string::npos ? "out of memory" : "error");
  }
  if (!result.ok()) fail(result.status(), 5, reason);
  if (mpi.rank() == 0) {
    wire::TrialEnd end;
    end.set_steps(result->steps);
    end.set_seconds(result->seconds);
    end.set_preempted(result->preempted);
    end.set_paused(result->paused);
    end.set_stopped(result->stopped);
    Status s = client.End(end);
    if (!s.ok()) log.Warn("end of trial not acknowledged: " + s.message());
  }
  heartbeat.reset();
  log.Info("done: " + std::to_string(result->steps) + " steps in " + std::to_string(result->seconds) + " s");
  return 0;
}
