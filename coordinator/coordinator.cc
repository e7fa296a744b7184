#include "coordinator/coordinator.h"

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>

#include "common/checkpoint_manifest.h"
#include "common/files.h"
#include "common/hparams.h"
#include "common/wire.h"
#include "common/wire_config.h"
#include "common/worker_command.h"
#include "coordinator/hang_detector.h"

namespace polysweep {

Coordinator::Coordinator(const SweepConfig& config, const Manifest& data, Journal* journal, TrialLauncher* launcher,
                         Searcher* searcher, CoordinatorOptions options, AgentPool* agents)
    : config_(config), data_(data), journal_(journal), launcher_(launcher), searcher_(searcher), agents_(agents),
      scheduler_(MakeScheduler(config.scheduler)), options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &system_clock_), log_("coordinator sweep " + config.name),
      transport_(options_.security, log_) {}

Coordinator::~Coordinator() {
  for (auto& [id, t] : trials_) {
    if (t->process && !t->process->Poll()) t->process->Kill(options_.kill_grace_ms);
  }
  if (!endpoint_file_.empty()) std::filesystem::remove(endpoint_file_);
}

Status Coordinator::Bind(const std::string& preferred) {
  // A restarted coordinator listens where its predecessor did: the running
  // ranks have that endpoint and reconnect to it.
  auto bound = transport_.Bind(preferred, config_.bind);
  if (!bound.ok()) return bound.status();
  endpoint_ = *bound;
  PS_RETURN_IF_ERROR(journal_->SetEndpoint(endpoint_));
  endpoint_file_ = config_.output_dir + "/coordinator.endpoint";
  const auto& security = options_.security;
  PS_RETURN_IF_ERROR(WriteFileAtomic(
      endpoint_file_, endpoint_ + "\n" + (security ? "curve\n" + std::filesystem::absolute(security->keys_dir).string() + "\n" : "plain\n")));
  if (security) {
    log_.Info("listening on " + endpoint_ + " with CURVE: " + std::to_string(security->allowed.size()) +
              " client keys admitted (keys in " + security->keys_dir + ")");
  } else if (IsLoopbackEndpoint(endpoint_)) {
    log_.Info("listening on " + endpoint_ + " (plain TCP on loopback, unauthenticated: local use only)");
  } else {
    log_.Warn("listening on " + endpoint_ + " WITHOUT authentication or encryption (security.curve: off): "
              "anyone who reaches this port can report to this sweep");
  }
  return Status::Ok();
}

double Coordinator::StepsPerEpoch(const Trial& trial) const {
  // An epoch is every training entry once; its last step may be short.
  const double global_batch =
      static_cast<double>(trial.training.batch_size) * trial.training.grad_accumulation * config_.trial.ranks;
  return static_cast<double>(data_.split_size(kTrain)) / global_batch;
}

int64_t Coordinator::MaxSteps(const Trial& trial) const {
  if (config_.budget.max_steps > 0) return config_.budget.max_steps;
  // The trial's own epochs (a hyperparameter), else the budget's.
  const double epochs = trial.training.epochs > 0 ? trial.training.epochs : config_.budget.epochs;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(epochs * StepsPerEpoch(trial) - 1e-9)));
}

ObjectiveValue Coordinator::Objective(const wire::Evaluation& e) const {
  return ComputeObjective(config_.metric, e);
}

double Coordinator::Score(const ObjectiveValue& v) const { return ObjectiveScore(config_.metric, v); }

Trial& Coordinator::AddTrial(uint64_t id, ParamAssignment params, Status* applied) {
  auto trial = std::make_unique<Trial>();
  trial->id = id;
  trial->params = std::move(params);
  trial->training = config_.training;
  *applied = ApplyAssignment(&trial->training, trial->params);
  trial->max_steps = MaxSteps(*trial);
  if (config_.scheduler.unit == BudgetUnit::kEpochs) scheduler_->SetStepsPerUnit(id, StepsPerEpoch(*trial));
  trial->stop_at = scheduler_->FirstStop(id, trial->max_steps);
  trial->log_path = config_.output_dir + "/trial-" + std::to_string(id) + ".log";
  Trial& t = *trial;
  trials_[id] = std::move(trial);
  return t;
}

void Coordinator::CheckTransition(const Trial& t, TrialState to, const std::string& reason) const {
  if (CanTransition(t.state, to)) return;
  log_.Error("trial " + std::to_string(t.id) + ": no transition from " + TrialStateName(t.state) + " to " +
             TrialStateName(to) + " (" + reason + "); a coordinator bug, recorded as asked");
}

void Coordinator::SetState(Trial& t, TrialState to, const std::string& reason) {
  CheckTransition(t, to, reason);
  Status j = journal_->Transition(t.id, t.attempt, to, reason);
  if (!j.ok()) log_.Error(j.message());
  t.state = to;
}

void Coordinator::LaunchReadyTrials() {
  int running = static_cast<int>(LiveTrials().size());
  while (running < config_.max_concurrent) {
    // Promotions first: a paused trial that earned more steps goes before a new one.
    if (auto p = scheduler_->Promote(searcher_done_ && running == 0)) {
      auto it = trials_.find(p->trial);
      if (it == trials_.end() || it->second->state != TrialState::kPaused) continue;  // not ours to resume
      Trial& t = *it->second;
      const int64_t stop_at = std::min(p->stop_at, t.max_steps);
      const std::string why = "promoted from rung " + std::to_string(p->rung) + " (step " +
                              std::to_string(t.paused_at) + ") to train to step " + std::to_string(stop_at);
      Status j = journal_->AddDecision({t.id, t.attempt, DecisionKind::kPromote, t.paused_at, NAN, stop_at, why});
      if (!j.ok()) log_.Error(j.message());
      ResumeTrial(t, stop_at, why);
      ++running;
      continue;
    }
    if (searcher_done_) break;
    if (LaunchNewTrial()) ++running;
  }
}

bool Coordinator::LaunchNewTrial() {
  std::optional<ParamAssignment> params = searcher_->Next();
  if (!params) {
    searcher_done_ = true;
    return false;
  }
  Status s;
  Trial& t = AddTrial(++issued_, *params, &s);
  Status j = journal_->AddTrial(t.id, t.params, searcher_->SaveState());
  if (!j.ok()) log_.Error(j.message());
  t.attempt = 1;
  if (!s.ok()) {
    t.end.error = s.message();
    t.end.failure = wire::FAILURE_BAD_CONFIG;
    FinishTrial(t, ExitInfo::Code(1));
    return false;
  }
  t.started = Now();
  if (!LaunchAttempt(t, "launched with " + launcher_->name())) return false;
  log_.Info("trial " + std::to_string(t.id) + " started: " + FormatAssignment(t.params) + ", " +
            std::to_string(t.max_steps) + " steps on " + std::to_string(config_.trial.ranks) + " ranks" +
            (t.stop_at < t.max_steps ? " (first decision at step " + std::to_string(t.stop_at) + ")" : ""));
  return true;
}

void Coordinator::NextAttempt(Trial& t) {
  t.process.reset();
  ++t.attempt;  // the fencing token: reports of the old attempt are refused from now on
  t.end = AttemptEnd();
  t.last_eval.reset();
  t.last_progress = wire::Progress();
  t.ranks.clear();
  t.failure.clear();
  t.continued_at = -1;
  t.command = PendingCommand();
}

bool Coordinator::LaunchAttempt(Trial& t, const std::string& reason) {
  LaunchSpec spec;
  spec.ranks = config_.trial.ranks;
  spec.threads_per_rank = config_.trial.threads_per_rank;
  const std::string threads = std::to_string(config_.trial.threads_per_rank);
  spec.env = {{"OMP_NUM_THREADS", threads}, {"OPENBLAS_NUM_THREADS", threads}};
  WorkerCommand worker;
  worker.binary = options_.worker_binary;
  worker.coordinator = endpoint_;
  worker.sweep = config_.name;
  worker.trial = t.id;
  worker.attempt = t.attempt;
  worker.coordinator_timeout_seconds = config_.trial.coordinator_timeout_seconds;
  if (options_.security) worker.keys_dir = std::filesystem::absolute(options_.security->keys_dir).string();
  spec.worker_argv = worker.Argv();
  spec.log_path = t.log_path;
  spec.trial = t.id;
  spec.attempt = t.attempt;
  spec.name = "polysweep." + config_.name + ".t" + std::to_string(t.id) + ".a" + std::to_string(t.attempt);
  // From now on the trial's checkpoints are this attempt's: an earlier one
  // still running somewhere unseen writes none (common/checkpoint_manifest.h).
  if (Status fence = WriteAttemptFence(CheckpointDir(t), t.attempt); !fence.ok()) log_.Error(fence.message());
  SetState(t, TrialState::kRunning, reason);
  t.launched_at = Now();
  auto process = launcher_->Launch(spec);
  if (!process.ok()) {
    t.end.error = process.status().message();
    t.end.failure = wire::FAILURE_LAUNCH_ERROR;
    FinishTrial(t, ExitInfo::Code(127));
    return false;
  }
  t.process = std::move(*process);
  live_.insert(t.id);
  Status p = journal_->SetProcess(t.id, t.attempt, t.process->handle());
  if (!p.ok()) log_.Error(p.message());
  t.waiting = !t.process->started();
  if (t.waiting) {
    log_.Info("trial " + std::to_string(t.id) + " attempt " + std::to_string(t.attempt) +
              " waits for resources to start on (" + launcher_->name() + ")");
  }
  return true;
}

std::string Coordinator::CheckpointDir(const Trial& trial) const {
  return std::filesystem::absolute(config_.output_dir).string() + "/checkpoints/trial-" + std::to_string(trial.id);
}

wire::Assignment Coordinator::MakeAssignment(const Trial& trial) const {
  wire::Assignment a;
  // The full resolved set, so the worker needs no defaults of its own.
  for (const auto& [k, v] : FormatHyperparameters(trial.training)) (*a.mutable_hparams())[k] = v;
  ModelToWire(config_.model, a.mutable_model());
  auto* d = a.mutable_data();
  d->set_shard_dir(std::filesystem::absolute(config_.data.shard_dir).string());
  d->set_sampling_alpha(config_.data.sampling_alpha);
  for (const auto& l : data_.labels) d->add_labels(l);
  for (const auto& l : data_.languages) d->add_languages(l);
  a.set_max_steps(trial.max_steps);
  a.set_eval_every(config_.budget.eval_every);
  a.set_log_every(config_.budget.log_every);
  TrialResourcesToWire(config_.trial, &a);
  // Always a checkpoint directory: pauses (at a rung, or on request) and
  // preemptions commit a checkpoint there even when periodic ones are off.
  a.set_checkpoint_dir(CheckpointDir(trial));
  a.set_attempt(trial.attempt);
  MetricToWire(config_.metric, a.mutable_metric());
  if (trial.stop_at < trial.max_steps) a.set_stop_at_step(trial.stop_at);
  return a;
}

void Coordinator::CheckHangs() {
  const HangLimits limits{config_.trial.hang_timeout_seconds, config_.trial.start_timeout_seconds, config_.trial.ranks};
  for (Trial* t : LiveTrials()) {
    if (!t->process || !t->process->started()) continue;
    const std::string stalled = FindStall(*t, limits, Now());
    if (stalled.empty()) continue;
    log_.Error("trial " + std::to_string(t->id) + " attempt " + std::to_string(t->attempt) + ": " + stalled +
               "; killing the trial's processes");
    t->failure = stalled;
    ExitInfo exit = t->process->KillFailed(options_.kill_grace_ms);
    // A host that no longer answers (a node cut off) is named with the stall.
    if (const size_t node = exit.cause.find("NODE_FAIL"); node != std::string::npos) {
      t->failure += "; " + exit.cause.substr(node);
    }
    if (exit.ok()) exit.signal = SIGKILL;  // it did not end by itself
    FinishTrial(*t, exit);
  }
}

void Coordinator::ReapTrials() {
  for (Trial* t : LiveTrials()) {
    if (!t->process) continue;  // ended by an earlier one's relaunch
    if (auto exit = t->process->Poll()) {
      FinishTrial(*t, *exit);
    } else if (t->waiting && t->process->started()) {
      NoteStarted(*t);
    }
  }
}

void Coordinator::NoteStarted(Trial& t) {
  t.waiting = false;
  t.launched_at = Now();  // the start timeout runs from here
  Status p = journal_->SetProcess(t.id, t.attempt, t.process->handle());
  if (!p.ok()) log_.Error(p.message());
  log_.Info("trial " + std::to_string(t.id) + " attempt " + std::to_string(t.attempt) + " found room and started (" +
            t.process->handle() + ")");
}

std::vector<Trial*> Coordinator::LiveTrials() {
  std::vector<Trial*> live;
  for (auto it = live_.begin(); it != live_.end();) {
    Trial* t = trials_.at(*it).get();
    if (!t->process) {
      it = live_.erase(it);
      continue;
    }
    live.push_back(t);
    ++it;
  }
  return live;
}

bool Coordinator::Active() {
  if (!LiveTrials().empty()) return true;
  if (!searcher_done_) return true;
  // A trial the owner paused keeps the sweep open until it is resumed or
  // stopped (rare: scanned only when nothing runs).
  for (auto& [id, t] : trials_) {
    if (t->state == TrialState::kPaused && t->owner_paused) return true;
  }
  return false;
}

wire::StatusReply Coordinator::Snapshot() const {
  auto snap = journal_->Snapshot();
  wire::StatusReply reply = snap.ok() ? *snap : wire::StatusReply();
  reply.set_endpoint(endpoint_);
  reply.set_rejected_messages(static_cast<uint32_t>(rejected_));
  reply.set_rejected_connections(static_cast<uint32_t>(transport_.refused_connections()));
  reply.set_secured(transport_.secured());
  // What only the running coordinator knows: each running rank's liveness.
  const double now = Now();
  for (auto& summary : *reply.mutable_trials()) {
    auto it = trials_.find(summary.id());
    if (it == trials_.end() || it->second->state != TrialState::kRunning) continue;
    for (const auto& [rank, r] : it->second->ranks) {
      wire::RankStatus* out = summary.add_ranks();
      out->set_rank(rank);
      out->set_host(r.host);
      out->set_pid(r.pid);
      out->set_step(r.step);
      out->set_steps_per_sec(r.steps_per_sec);
      out->set_idle_seconds(r.last_change > 0 ? now - r.last_change : 0);
      // Loading data and the model before the first step is not a stall.
      out->set_stalled(r.work > 0 && now - r.last_change > 2 * config_.trial.heartbeat_seconds);
    }
  }
  return reply;
}

Status Coordinator::Run() {
  bool interrupted = false;
  while (true) {
    if (options_.stop && options_.stop->load()) {
      interrupted = true;
      break;
    }
    if (options_.drain && options_.drain->load() && draining_since_ == 0) StartDrain();
    if (draining_since_ > 0) {
      // Until every started trial has stopped with its checkpoint, or time is up.
      bool draining = false;
      for (Trial* t : LiveTrials()) draining |= t->process->started();
      if (!draining || Now() - draining_since_ > options_.drain_seconds) {
        interrupted = true;
        break;
      }
    } else {
      LaunchReadyTrials();
      if (!Active()) break;
    }
    // Drain what arrived before looking at exits, so a trial's last reports
    // are journaled before its outcome. Group commit: the facts of up to
    // kBatch messages are committed together, then acknowledged together.
    constexpr int kBatch = 512;
    if (transport_.Wait(options_.poll_interval_ms)) {
      Status b = journal_->BeginBatch();
      if (!b.ok()) log_.Error(b.message());
      for (int n = 0; n < kBatch && HandleMessage(); ++n) {
      }
      CommitBatch();
    }
    transport_.DrainMonitor();
    LogSweepProgress();
    CheckHangs();
    ReapTrials();
  }
  return Conclude(interrupted);
}

Status Coordinator::Conclude(bool interrupted) {
  if (!interrupted) {
    // The sweep is over: trials still waiting at a rung were not promoted.
    for (auto& [id, t] : trials_) {
      if (t->state != TrialState::kPaused) continue;
      EndTrial(*t, TrialState::kPruned, "not promoted past step " + std::to_string(t->paused_at));
    }
  }
  if (!interrupted && agents_) DismissAgents();
  if (interrupted) {
    // Interrupted trials keep their attempt and checkpoints: the next
    // `polysweep sweep` on this journal resumes them.
    log_.Warn(draining_since_ > 0 ? "drained: the sweep continues from its journal when the same command runs again"
                                  : "interrupted: stopping running trials (run the same command again to continue the sweep)");
    for (auto& [id, t] : trials_) {
      if (!t->process) continue;
      t->process->Kill(options_.kill_grace_ms);
      t->process.reset();
      SetState(*t, TrialState::kInterrupted, "sweep interrupted");
    }
  }
  return journal_->FinishSweep(interrupted ? SweepState::kInterrupted : SweepState::kFinished);
}

}  // namespace polysweep
