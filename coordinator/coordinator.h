// The coordinator: owns one sweep. It listens on a ZeroMQ ROUTER socket
// (Transport), asks the searcher for trials, launches each through the
// TrialLauncher, answers the ranks (Hello -> Assignment, reports -> Ack),
// journals every fact before it acknowledges it, and serves StatusRequests
// from the CLI. Its scheduler (config.scheduler) pauses trials at rungs,
// promotes them from their checkpoints and stops them early; every decision
// is journaled before it is sent, and a command reaches rank 0 in the
// acknowledgement of a report. In pull mode (options.agents) nothing is
// launched: trials queue in the AgentPool and agents claim them (Claim ->
// Offer), then run them as launched ranks would.
//
// Its parts, one file each: coordinator.cc (the loop, launching, the
// trial state machine), rank_protocol.cc (the ranks' messages),
// trial_lifecycle.cc (how an attempt ends: restart, pause, requeue, finish),
// recovery.cc (continuing a journaled sweep), hang_detector.h (when an
// attempt is given up), agent_dispatch.cc (pull mode), control.cc (the
// owner's stop, pause and resume), sweep_progress.cc (the progress line),
// transport.h (the socket).
// Single-threaded: Run() owns the socket, the journal and the trials.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/objective.h"
#include "coordinator/journal.h"
#include "coordinator/scheduler.h"
#include "coordinator/searcher.h"
#include "coordinator/security.h"
#include "coordinator/transport.h"
#include "coordinator/trial.h"
#include "launcher/agent_pool.h"
#include "launcher/launcher.h"

namespace polysweep {

struct CoordinatorOptions {
  std::string worker_binary;            // polysweep-worker
  int poll_interval_ms = 100;
  int kill_grace_ms = 3000;
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler to end the sweep
  // Set by a signal handler (Slurm's --signal=B:USR1 before the job's end):
  // running trials checkpoint and stop, nothing new starts, and Run() returns
  // with the sweep interrupted, to be continued from the journal.
  const std::atomic<bool>* drain = nullptr;
  double drain_seconds = 90;  // how long draining trials get before they are killed
  std::optional<CoordinatorSecurity> security;  // none: plain TCP (loopback only)
  double agents_linger_seconds = 10;  // after the sweep, how long agents still asking are told it is done
  const Clock* clock = nullptr;       // where timeouts are decided; none: the system's
};

class Coordinator {
 public:
  // Trials start through `launcher`; `agents` is set in pull mode (the same
  // object as `launcher`, seen as the pool agents claim trials from).
  Coordinator(const SweepConfig& config, const Manifest& data, Journal* journal, TrialLauncher* launcher,
              Searcher* searcher, CoordinatorOptions options, AgentPool* agents = nullptr);
  ~Coordinator();

  // Binds `preferred` (a restarted coordinator's old endpoint) or else
  // config.bind, journals the endpoint and writes it to
  // <output_dir>/coordinator.endpoint.
  Status Bind(const std::string& preferred = "");
  // Continues the sweep in the journal: finished trials stay finished,
  // running ones whose processes still run are re-adopted (not relaunched),
  // the others get a new attempt from their last checkpoint, and the
  // searcher skips what it already issued. Call after Bind, before Run.
  Status Resume();
  const std::string& endpoint() const { return endpoint_; }
  // Runs the sweep to the end. Returns an error only for coordinator faults;
  // failed trials are outcomes, not errors.
  Status Run();

 private:
  // coordinator.cc: the loop, launching, states.
  Trial& AddTrial(uint64_t id, ParamAssignment params, Status* applied);
  void LaunchReadyTrials();
  bool LaunchNewTrial();
  // Starts attempt t.attempt of `t`; false (and the trial finished) when the
  // launcher cannot start it.
  bool LaunchAttempt(Trial& t, const std::string& reason);
  // Forgets the ended attempt's state and moves to the next attempt number.
  void NextAttempt(Trial& t);
  // Moves `t` to the non-final state `to`, journaled with `reason`
  // (EndTrial moves it to a final one).
  void SetState(Trial& t, TrialState to, const std::string& reason);
  // Logs a transition the state machine does not allow (a bug).
  void CheckTransition(const Trial& t, TrialState to, const std::string& reason) const;
  void ReapTrials();
  // A waiting attempt (Trial::waiting) whose process has started: journals where, starts its start timeout.
  void NoteStarted(Trial& t);
  // Ends (and so restarts) attempts with a rank that stopped advancing.
  void CheckHangs();
  // The trials with a process now (forgetting the ids of those without).
  std::vector<Trial*> LiveTrials();
  // Whether the sweep still has something to wait for.
  bool Active();
  // Ends the loop's sweep: pruned rungs, interrupted trials, the journal.
  Status Conclude(bool interrupted);
  double Now() const { return clock_->Now(); }
  wire::Assignment MakeAssignment(const Trial& trial) const;
  // Where the trial's checkpoints are (every attempt's), absolute.
  std::string CheckpointDir(const Trial& trial) const;
  int64_t MaxSteps(const Trial& trial) const;
  double StepsPerEpoch(const Trial& trial) const;  // the trial's optimizer steps per epoch
  ObjectiveValue Objective(const wire::Evaluation& e) const;
  // Higher is better, whatever the metric's mode; infeasible is worst.
  double Score(const ObjectiveValue& v) const;
  wire::StatusReply Snapshot() const;

  // rank_protocol.cc: the messages of ranks, agents and the CLI.
  // Receives and handles one message; false when none is waiting.
  bool HandleMessage();
  void HandleFrames(std::vector<zmq::message_t>& frames);
  void Reply(const zmq::message_t& identity, const wire::Envelope& request, wire::Envelope reply);
  void Reject(const zmq::message_t& identity, const wire::Envelope& request, const std::string& why);
  // Commits the journal's batch, then sends the replies it held back.
  void CommitBatch();
  void HandleTrialMessage(const zmq::message_t& identity, const wire::Envelope& env, Trial& trial);
  void OnHello(const wire::Envelope& env, Trial& t, wire::Envelope* reply);
  // Journals one evaluation, tells the scheduler; an error of the journal.
  Status OnEvaluation(const wire::Envelope& env, Trial& t, wire::Envelope* reply);
  // Journals one progress report of `trial` and logs every tenth of its steps.
  Status RecordProgress(Trial& trial, const wire::Progress& p);
  Status OnHeartbeat(const wire::Envelope& env, Trial& t);
  void OnTrialEnd(const wire::Envelope& env, Trial& t);

  // trial_lifecycle.cc: how an attempt ends, and what follows.
  void FinishTrial(Trial& trial, const ExitInfo& ended);
  // A crash or hang: a new attempt while the restart budget lasts; true if so.
  bool RestartAfterCrash(Trial& t, const ExitInfo& exit);
  // Ends a trial for good (no process runs); a failed one with its class.
  void EndTrial(Trial& trial, TrialState outcome, const std::string& error,
                wire::FailureClass failure = wire::FAILURE_UNSPECIFIED);
  void EndCompleted(Trial& t);
  // The attempt ended with its drain checkpoint: it continues when the sweep does.
  void InterruptTrial(Trial& trial, const std::string& why);
  // The attempt ended paused: at its stop (a rung result) or on request.
  void PauseTrial(Trial& trial);
  // A paused trial trains on (to `stop_at`) as a new attempt from its checkpoint.
  void ResumeTrial(Trial& t, int64_t stop_at, const std::string& why);
  // The evaluation at the stop of a running attempt: with promote_in_place,
  // asks the scheduler whether the trial is promoted there and then; if so,
  // journals the decision ("continue") and moves the attempt's stop on.
  Status ContinueAtStop(Trial& t, int64_t step, const ObjectiveValue& objective);
  // Tells a running trial to stop (it ends as `command.outcome`) or pause,
  // journaled first as a decision of `kind` at `step` (default: its latest progress).
  Status SendCommand(Trial& t, DecisionKind kind, PendingCommand command, int64_t step = -1);
  // Asks every running trial to checkpoint and stop (options.drain).
  void StartDrain();

  // recovery.cc: continuing a journaled sweep.
  // A trial the journal left running (re-adopted when its processes
  // `process` still run, else relaunched), preempted, interrupted or issued.
  void ContinueTrial(Trial& t, const std::string& process, int* adopted);
  // Replays the journal's evaluations and `decisions` into the scheduler
  // and the searcher.
  Status ReplaySchedule(const std::vector<JournalDecision>& decisions);

  // agent_dispatch.cc: pull mode.
  void HandleClaim(const zmq::message_t& identity, const wire::Envelope& env);
  // After the sweep: answers agents still asking that it is done.
  void DismissAgents();

  // control.cc: the owner's commands.
  void HandleControl(const zmq::message_t& identity, const wire::Envelope& env, const std::string& role);

  // sweep_progress.cc: every kProgressEverySeconds, one line of the sweep's
  // progress (trials ended and running, best so far, share of the steps
  // done, ETA).
  void LogSweepProgress();

  const SweepConfig& config_;
  const Manifest& data_;
  Journal* journal_;
  TrialLauncher* launcher_;
  Searcher* searcher_;
  AgentPool* agents_;  // pull mode; else null
  std::unique_ptr<Scheduler> scheduler_;
  CoordinatorOptions options_;
  SystemClock system_clock_;
  const Clock* clock_;
  Logger log_;
  Transport transport_;
  std::string endpoint_;
  std::string endpoint_file_;
  std::map<uint64_t, std::unique_ptr<Trial>> trials_;
  // Ids of trials that may have a process: every per-loop scan walks these,
  // not all trials (a sweep may issue tens of thousands).
  std::set<uint64_t> live_;
  uint64_t issued_ = 0;
  bool searcher_done_ = false;
  uint64_t rejected_ = 0;
  std::string peer_;  // User-Id of the message being handled, for logs
  std::set<std::string> agents_seen_, agents_dismissed_;  // pull mode: agents that asked, and those told the sweep is done
  bool sweep_over_ = false;
  double draining_since_ = 0;  // 0: not draining
  double progress_logged_at_ = 0;  // 0: the first call sets the baseline below
  double progress_started_at_ = 0;
  int64_t progress_steps_at_start_ = 0;
  // Pull mode: each agent process's last claim ("agent host pid") and its
  // answer, given again to a resent claim.
  std::map<std::string, std::pair<uint64_t, std::string>> last_claim_;
};

}  // namespace polysweep
