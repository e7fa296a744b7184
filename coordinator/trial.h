// A trial as the coordinator holds it: its state (journaled on every change),
// its current attempt's processes and ranks, what rank 0 reported when the
// attempt ended, and the command the coordinator sent it. Internal to the
// coordinator; the journal has the durable record.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/hparams.h"
#include "common/search_space.h"
#include "common/trial_state.h"
#include "launcher/launcher.h"
#include "polysweep.pb.h"

namespace polysweep {

// Liveness of one rank of the current attempt, from its Hello and heartbeats.
struct RankLiveness {
  uint64_t work = 0;       // steps and evaluation batches done; stalls when it stops moving
  int64_t step = 0;
  double last_change = 0;  // when `work` last moved
  std::string host;
  int pid = 0;
  // For its throughput: the step and time of the heartbeat before the last
  // one that advanced it.
  int64_t rate_step = -1;
  double rate_at = 0;
  double steps_per_sec = 0;
};

// What rank 0 said in the attempt's TrialEnd.
struct AttemptEnd {
  bool reported = false;
  std::string error;   // empty: the attempt ended as planned
  wire::FailureClass failure = wire::FAILURE_UNSPECIFIED;  // with an error: its class
  std::optional<int64_t> preempted_at;    // checkpoint committed here on a preemption signal
  std::optional<int64_t> early_stopped_at;
  bool paused = false;   // at its stop or on request, checkpoint committed (Trial::paused_at)
  bool stopped = false;  // on a stop command
};

// A command for rank 0, sent with every acknowledgement until the attempt ends.
struct PendingCommand {
  wire::Command command = wire::COMMAND_NONE;
  TrialState outcome = TrialState::kStopped;  // what a stop makes of the trial: stopped or pruned
  bool drain = false;                          // a pause because the coordinator's job ends
  std::string reason;
  double at = 0;  // when it was sent: a trial that does not act on it in time is killed
  bool pending() const { return command != wire::COMMAND_NONE; }
};

struct Trial {
  uint64_t id = 0;
  uint32_t attempt = 0;  // the fencing token: reports of other attempts are refused
  ParamAssignment params;
  TrainingParams training;
  TrialState state = TrialState::kPending;
  std::unique_ptr<TrialProcess> process;
  std::string log_path;
  int64_t max_steps = 0;
  int64_t stop_at = 0;        // the step this attempt pauses at for the scheduler (max_steps: none)
  int64_t paused_at = -1;     // the step its last pause committed a checkpoint at
  int64_t continued_at = -1;  // this attempt was promoted at its stop here and trains on without pausing
  bool owner_paused = false;  // paused on the owner's request: waits for resume or stop
  double started = 0;
  double launched_at = 0;
  int restarts = 0;
  int launch_retries = 0;  // attempts the launcher could not start, relaunched without spending a restart
  // Launched but not started: it waits for resources (free slots on hosts
  // that answer); an agent's claim, or its process once started, ends it.
  bool waiting = false;
  // The current attempt.
  std::map<int, RankLiveness> ranks;
  AttemptEnd end;
  std::string failure;  // why the coordinator ended the attempt (a hang)
  PendingCommand command;
  wire::Progress last_progress;
  std::optional<wire::Evaluation> last_eval;  // of this attempt
  double last_score = NAN;                    // the scheduler's score of its latest evaluation, any attempt
};

}  // namespace polysweep
