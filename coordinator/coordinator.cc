#include "coordinator/coordinator.h"

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "common/files.h"
#include "common/hparams.h"
#include "common/wire.h"
#include "coordinator/table.h"
#include "coordinator/views.h"
#include "coordinator/zap.h"

namespace polysweep {
namespace {

// A trial in one of these states never runs again.
bool IsFinal(const std::string& state) {
  return state == "completed" || state == "failed" || state == "stopped" || state == "pruned";
}

}  // namespace

struct Coordinator::Trial {
  uint64_t id = 0;
  uint32_t attempt = 0;
  ParamAssignment params;
  TrainingParams training;
  std::string state = "pending";
  std::unique_ptr<TrialProcess> process;
  std::string log_path;
  bool end_reported = false;
  std::string reported_error;
  std::string reported_reason;
  wire::Progress last_progress;
  bool has_eval = false;
  wire::Evaluation last_eval;
  int64_t max_steps = 0;
  double started = 0;
  int restarts = 0;
  int launch_retries = 0;  // attempts the launcher could not start, relaunched without spending a restart
  // Liveness of each rank of the current attempt, from Hello and heartbeats.
  struct RankLiveness {
    uint64_t work = 0;
    int64_t step = 0;
    double last_change = 0;
    std::string host;
    int pid = 0;
    // For its throughput: the step and time of the heartbeat before the
    // last one that advanced it.
    int64_t rate_step = -1;
    double rate_at = 0;
    double steps_per_sec = 0;
  };
  std::map<int, RankLiveness> ranks;
  double launched_at = 0;
  std::string failure;  // why the coordinator ended the attempt (a hang)
  int64_t preempted_at = -1;  // step of a preemption checkpoint of this attempt
  int64_t stop_at = 0;        // the step this attempt pauses at for the scheduler (max_steps: none)
  int64_t paused_at = -1;     // step this attempt ended paused at
  int64_t continued_at = -1;  // this attempt was promoted at its stop here and trains on without pausing
  bool stop_reported = false; // the attempt ended on a stop command
  int64_t early_stopped_at = -1;  // the attempt completed early (training.early_stopping_patience) at this step
  bool pause_reported = false;  // the attempt ended paused, checkpoint committed
  bool owner_paused = false;    // paused on the owner's request: waits for resume or stop
  double last_score = NAN;      // the scheduler's score of its latest evaluation, any attempt
  // A command for rank 0 (sent with every acknowledgement until the attempt
  // ends), the outcome a stop gives the trial, and why.
  wire::Command command = wire::COMMAND_NONE;
  std::string command_outcome;
  std::string command_reason;
  double command_at = 0;
};

Coordinator::Coordinator(const SweepConfig& config, const Manifest& data, Journal* journal,
                         TrialLauncher* launcher, Searcher* searcher, CoordinatorOptions options)
    : config_(config), data_(data), journal_(journal), launcher_(launcher), searcher_(searcher),
      scheduler_(MakeScheduler(config.scheduler)), options_(std::move(options)), log_("coordinator sweep " + config.name),
      ctx_(1), socket_(ctx_, zmq::socket_type::router) {
  ConfigureSocket(socket_);
  socket_.set(zmq::sockopt::router_mandatory, 1);
}

Coordinator::~Coordinator() {
  for (auto& [id, t] : trials_) {
    if (t->process && !t->process->Poll()) t->process->Kill(options_.kill_grace_ms);
  }
  if (!endpoint_file_.empty()) std::filesystem::remove(endpoint_file_);
}

Status Coordinator::Bind(const std::string& preferred) {
  const auto& security = options_.security;
  if (security) {
    // The handler must serve before the socket accepts its first handshake.
    zap_ = std::make_unique<ZapAuthenticator>(ctx_, security->allowed, log_);
    PS_RETURN_IF_ERROR(zap_->Start());
    socket_.set(zmq::sockopt::zap_domain, "polysweep");
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, security->server.secret_key);
    // Refused handshakes (no key, unknown key, wrong mechanism) are counted.
    const std::string monitor = "inproc://polysweep-monitor";
    const int events = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(socket_.handle(), monitor.c_str(), events) != 0) {
      return Status::Error(std::string("cannot monitor the coordinator socket: ") + zmq_strerror(zmq_errno()));
    }
    monitor_.emplace(ctx_, zmq::socket_type::pair);
    monitor_->connect(monitor);
  }
  // A restarted coordinator listens where its predecessor did: the running
  // ranks have that endpoint and reconnect to it.
  bool bound = false;
  if (!preferred.empty()) {
    try {
      socket_.bind(preferred);
      bound = true;
    } catch (const zmq::error_t& e) {
      log_.Warn("cannot listen again on " + preferred + " (" + e.what() + "): binding " + config_.bind +
                "; running trials cannot reconnect and will be restarted");
    }
  }
  if (!bound) {
    try {
      socket_.bind(config_.bind);
    } catch (const zmq::error_t& e) {
      return Status::Error("bind: cannot bind " + config_.bind + ": " + e.what());
    }
  }
  endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  PS_RETURN_IF_ERROR(journal_->SetEndpoint(endpoint_));
  endpoint_file_ = config_.output_dir + "/coordinator.endpoint";
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

void Coordinator::DrainMonitor() {
  if (!monitor_) return;
  while (true) {
    zmq::message_t event;
    if (!monitor_->recv(event, zmq::recv_flags::dontwait)) return;
    if (event.size() >= 6) {
      uint16_t id;
      std::memcpy(&id, event.data(), sizeof id);
      if (id & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)) {
        ++refused_handshakes_;
      }
    }
    while (monitor_->get(zmq::sockopt::rcvmore)) {  // the endpoint frame
      zmq::message_t rest;
      if (!monitor_->recv(rest, zmq::recv_flags::dontwait)) break;
    }
  }
}

int64_t Coordinator::MaxSteps(const Trial& trial) const {
  if (config_.budget.max_steps > 0) return config_.budget.max_steps;
  // An epoch is every training entry once; its last step may be short.
  const double global_batch =
      static_cast<double>(trial.training.batch_size) * trial.training.grad_accumulation * config_.trial.ranks;
  const double examples = static_cast<double>(data_.split_size(kTrain)) * config_.budget.epochs;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(examples / global_batch)));
}

ObjectiveValue Coordinator::Objective(const wire::Evaluation& e) const {
  return ComputeObjective(config_.metric, e);
}

double Coordinator::Score(const ObjectiveValue& v) const { return ObjectiveScore(config_.metric, v); }

Coordinator::Trial& Coordinator::AddTrial(uint64_t id, ParamAssignment params, Status* applied) {
  auto trial = std::make_unique<Trial>();
  trial->id = id;
  trial->params = std::move(params);
  trial->training = config_.training;
  *applied = ApplyAssignment(&trial->training, trial->params);
  trial->max_steps = MaxSteps(*trial);
  trial->stop_at = scheduler_->FirstStop(id, trial->max_steps);
  trial->log_path = config_.output_dir + "/trial-" + std::to_string(id) + ".log";
  Trial& t = *trial;
  trials_[id] = std::move(trial);
  return t;
}

void Coordinator::LaunchReadyTrials() {
  int running = static_cast<int>(LiveTrials().size());
  while (running < config_.max_concurrent) {
    // Promotions first: a paused trial that earned more steps goes before a new one.
    if (auto p = scheduler_->Promote(searcher_done_ && running == 0)) {
      auto it = trials_.find(p->trial);
      if (it == trials_.end() || it->second->state != "paused") continue;  // not ours to resume
      Trial& t = *it->second;
      const int64_t stop_at = std::min(p->stop_at, t.max_steps);
      const std::string why = "promoted from rung " + std::to_string(p->rung) + " (step " +
                              std::to_string(t.paused_at) + ") to train to step " + std::to_string(stop_at);
      Status j = journal_->AddDecision({t.id, t.attempt, "promote", t.paused_at, NAN, stop_at, why});
      if (!j.ok()) log_.Error(j.message());
      ResumeTrial(t, stop_at, why);
      ++running;
      continue;
    }
    if (searcher_done_) break;
    std::optional<ParamAssignment> params = searcher_->Next();
    if (!params) {
      searcher_done_ = true;
      continue;
    }
    Status s;
    Trial& t = AddTrial(++issued_, *params, &s);
    Status j = journal_->AddTrial(t.id, t.params, searcher_->SaveState());
    if (!j.ok()) log_.Error(j.message());
    t.attempt = 1;
    if (!s.ok()) {
      t.reported_error = s.message();
      t.reported_reason = "bad config";
      FinishTrial(t, ExitInfo::Code(1));
      continue;
    }
    t.started = WallSeconds();
    if (!LaunchAttempt(t, "launched with " + launcher_->name())) continue;
    ++running;
    log_.Info("trial " + std::to_string(t.id) + " started: " + FormatAssignment(t.params) + ", " +
              std::to_string(t.max_steps) + " steps on " + std::to_string(config_.trial.ranks) + " ranks" +
              (t.stop_at < t.max_steps ? " (first decision at step " + std::to_string(t.stop_at) + ")" : ""));
  }
}

void Coordinator::ResumeTrial(Trial& t, int64_t stop_at, const std::string& why) {
  log_.Info("trial " + std::to_string(t.id) + " " + why);
  NextAttempt(t);
  t.stop_at = stop_at;
  LaunchAttempt(t, why);
}

Status Coordinator::Resume() {
  auto trials = journal_->Trials();
  if (!trials.ok()) return trials.status();
  auto decisions = journal_->Decisions();
  if (!decisions.ok()) return decisions.status();
  // Where each trial stands with the scheduler: the step it trains to and
  // where it last paused.
  std::map<uint64_t, int64_t> trains_to, paused_at;
  std::map<uint64_t, bool> owner_paused;
  std::map<uint64_t, std::pair<uint32_t, int64_t>> continued;  // attempt, step
  for (const JournalDecision& d : *decisions) {
    if (d.kind == "promote" || d.kind == "resume" || d.kind == "continue") trains_to[d.trial] = d.stop_at;
    if (d.kind == "continue") continued[d.trial] = {d.attempt, d.step};
    if (d.kind == "rung" || d.kind == "pause") {
      paused_at[d.trial] = d.step;
      owner_paused[d.trial] = d.kind == "pause";
    }
  }
  int adopted = 0, relaunched = 0, finished = 0, paused = 0;
  // The searcher continues from its journaled state (RNG included); a
  // journal without one (older versions) is replayed: the searcher is
  // deterministic, so replaying it gives the issued trials again.
  auto sweep = journal_->Sweep();
  if (!sweep.ok()) return sweep.status();
  const bool restored = !sweep->searcher_state.empty();
  if (restored) {
    Status loaded = searcher_->LoadState(sweep->searcher_state);
    if (!loaded.ok()) return loaded.With(journal_->path() + ": cannot continue the search; start again with --overwrite");
  }
  for (const JournalTrial& jt : *trials) {
    std::optional<ParamAssignment> params;
    if (restored) {
      auto journaled = ParamsFromJson(jt.hparams_json);
      if (!journaled.ok()) return journaled.status().With(journal_->path() + ": trial " + std::to_string(jt.id));
      params = *journaled;
    } else {
      params = searcher_->Next();
    }
    if (!params || ParamsToJson(*params) != jt.hparams_json) {
      return Status::Error(journal_->path() + ": trial " + std::to_string(jt.id) + " was issued with " +
                           jt.hparams_json + " but the search now gives " +
                           (params ? ParamsToJson(*params) : std::string("no more trials")) +
                           ": the search changed; start again with --overwrite");
    }
    issued_ = jt.id;
    Status applied;
    Trial& t = AddTrial(jt.id, *params, &applied);
    t.attempt = std::max<uint32_t>(jt.attempt, 1);
    t.restarts = jt.restarts;
    t.state = jt.state;
    t.started = jt.started_at > 0 ? jt.started_at : WallSeconds();
    if (auto it = trains_to.find(t.id); it != trains_to.end()) t.stop_at = it->second;
    if (auto it = paused_at.find(t.id); it != paused_at.end()) t.paused_at = it->second;
    t.owner_paused = owner_paused[t.id];
    if (auto it = continued.find(t.id); it != continued.end() && it->second.first == t.attempt) {
      t.continued_at = it->second.second;  // this attempt trains on past that stop
    }
    const std::string name = "trial " + std::to_string(t.id) + " attempt " + std::to_string(t.attempt);
    if (IsFinal(t.state)) {
      ++finished;
      continue;
    }
    if (t.state == "paused") {  // waits for a promotion or the owner's resume
      ++paused;
      continue;
    }
    if (!applied.ok()) {  // journaled before its outcome was: finish it now
      t.reported_error = applied.message();
      t.reported_reason = "bad config";
      FinishTrial(t, ExitInfo::Code(1));
      continue;
    }
    if (t.state == "running") {
      t.process = launcher_->Adopt(jt.process, {"--sweep", config_.name, "--trial", std::to_string(t.id),
                                                "--attempt", std::to_string(t.attempt)});
      if (t.process) {
        live_.insert(t.id);
        // Its ranks reconnect and re-announce themselves with their heartbeats;
        // until then they are judged against the start timeout.
        t.launched_at = WallSeconds();
        Status j = journal_->Transition(t.id, t.attempt, "running", "re-adopted by a restarted coordinator");
        if (!j.ok()) log_.Error(j.message());
        log_.Info(name + " still runs (" + jt.process + "): re-adopted");
        ++adopted;
        continue;
      }
      // Its processes ended while no coordinator watched: a new attempt from
      // its last checkpoint, without spending the restart budget.
      log_.Warn(name + " is no longer running (" + (jt.process.empty() ? "never started" : jt.process) +
                "): restarting it from its last checkpoint");
      NextAttempt(t);
      LaunchAttempt(t, "restarted: its processes ended while the coordinator was down");
    } else if (t.state == "preempted" || t.state == "interrupted") {
      // Preempted and not yet requeued, or stopped by Ctrl-C: a new attempt
      // from the checkpoint, without spending the restart budget.
      const std::string why = t.state == "preempted" ? "requeued after preemption" : "resumed after the sweep was interrupted";
      NextAttempt(t);
      LaunchAttempt(t, why);
    } else {  // issued, not yet launched
      LaunchAttempt(t, "launched with " + launcher_->name());
    }
    ++relaunched;
  }
  log_.Info("resumed from " + journal_->path() + ": " + std::to_string(trials->size()) + " trials issued, " +
            std::to_string(finished) + " finished, " + std::to_string(paused) + " paused, " +
            std::to_string(adopted) + " re-adopted, " + std::to_string(relaunched) + " relaunched");
  return ReplaySchedule(*decisions);
}

Status Coordinator::ReplaySchedule(const std::vector<JournalDecision>& decisions) {
  // The scheduler's state is a set of facts: replaying them in journal
  // order rebuilds it exactly.
  auto objectives = journal_->Objectives();
  if (!objectives.ok()) return objectives.status();
  std::map<uint64_t, double> last_score;
  for (const JournalEvaluation& e : *objectives) {
    const double score = Score(ObjectiveValue{e.objective, e.feasible, ""});
    scheduler_->Report(e.trial, e.step, score);
    last_score[e.trial] = score;  // in (trial, attempt, step) order: the latest wins
  }
  // The searcher learns the results it had, in trial order: of trials that
  // ended or paused, and of a running trial its score where it was last
  // promoted without pausing.
  std::map<uint64_t, double> continued_score;
  for (const JournalDecision& d : decisions) {
    if (d.kind == "continue") continued_score[d.trial] = d.score;
  }
  for (const auto& [id, t] : trials_) {
    auto it = last_score.find(id);
    if (it != last_score.end() && (IsFinal(t->state) || t->state == "paused")) {
      searcher_->Observe(id, t->params, it->second);
    } else if (auto c = continued_score.find(id); c != continued_score.end()) {
      searcher_->Observe(id, t->params, c->second);
    }
  }
  for (const JournalDecision& d : decisions) {
    auto it = trials_.find(d.trial);
    if (it == trials_.end()) continue;
    Trial& t = *it->second;
    if (d.kind == "rung" || d.kind == "continue") scheduler_->Paused(d.trial, d.step, d.score);
    if (d.kind == "promote" || d.kind == "resume" || d.kind == "continue") scheduler_->Promoted(d.trial, d.stop_at);
    // A command the ranks of the running attempt may not have received yet.
    const bool pending = t.state == "running" && d.attempt == t.attempt;
    if (pending && (d.kind == "prune" || d.kind == "stop")) {
      t.command = wire::COMMAND_STOP;
      t.command_outcome = d.kind == "prune" ? "pruned" : "stopped";
      t.command_reason = d.detail;
      t.command_at = WallSeconds();
    } else if (pending && d.kind == "pause") {
      t.command = wire::COMMAND_PAUSE;
      t.command_reason = d.detail;
      t.command_at = WallSeconds();
    }
  }
  for (const auto& [id, t] : trials_) {
    if (IsFinal(t->state)) scheduler_->Ended(id, t->state == "completed");
  }
  return Status::Ok();
}

void Coordinator::NextAttempt(Trial& t) {
  t.process.reset();
  ++t.attempt;  // the fencing token: reports of the old attempt are refused from now on
  t.end_reported = false;
  t.reported_error.clear();
  t.reported_reason.clear();
  t.has_eval = false;
  t.last_progress = wire::Progress();
  t.ranks.clear();
  t.failure.clear();
  t.preempted_at = -1;
  t.stop_reported = false;
  t.early_stopped_at = -1;
  t.pause_reported = false;
  t.continued_at = -1;
  t.command = wire::COMMAND_NONE;
  t.command_outcome.clear();
  t.command_reason.clear();
}

bool Coordinator::LaunchAttempt(Trial& t, const std::string& reason) {
  LaunchSpec spec;
  spec.ranks = config_.trial.ranks;
  spec.threads_per_rank = config_.trial.threads_per_rank;
  const std::string threads = std::to_string(config_.trial.threads_per_rank);
  spec.env = {{"OMP_NUM_THREADS", threads}, {"OPENBLAS_NUM_THREADS", threads}};
  spec.worker_argv = {options_.worker_binary, "--coordinator", endpoint_, "--sweep", config_.name,
                      "--trial", std::to_string(t.id), "--attempt", std::to_string(t.attempt),
                      "--coordinator-timeout", ParamValue::Number(config_.trial.coordinator_timeout_seconds).ToString()};
  if (options_.security) {
    spec.worker_argv.push_back("--keys");
    spec.worker_argv.push_back(std::filesystem::absolute(options_.security->keys_dir).string());
  }
  spec.log_path = t.log_path;
  spec.trial = t.id;
  spec.attempt = t.attempt;
  spec.name = "polysweep." + config_.name + ".t" + std::to_string(t.id) + ".a" + std::to_string(t.attempt);
  Status j = journal_->Transition(t.id, t.attempt, "running", reason);
  if (!j.ok()) log_.Error(j.message());
  t.state = "running";
  t.launched_at = WallSeconds();
  auto process = launcher_->Launch(spec);
  if (!process.ok()) {
    t.reported_error = process.status().message();
    t.reported_reason = "launch error";
    FinishTrial(t, ExitInfo::Code(127));
    return false;
  }
  t.process = std::move(*process);
  live_.insert(t.id);
  Status p = journal_->SetProcess(t.id, t.attempt, t.process->handle());
  if (!p.ok()) log_.Error(p.message());
  return true;
}

void Coordinator::Reply(const zmq::message_t& identity, const wire::Envelope& request, wire::Envelope reply) {
  reply.set_version(kProtocolVersion);
  reply.set_sweep(config_.name);
  reply.set_trial(request.trial());
  reply.set_attempt(request.attempt());
  reply.set_rank(request.rank());
  reply.set_seq(request.seq());
  std::string payload;
  if (!EncodeEnvelope(reply, &payload).ok()) return;
  std::string to(static_cast<const char*>(identity.data()), identity.size());
  // In a batch, what was journaled is acknowledged only once it is committed.
  if (journal_->in_batch()) {
    pending_replies_.emplace_back(std::move(to), std::move(payload));
    return;
  }
  Send(to, payload);
}

void Coordinator::Send(const std::string& identity, const std::string& payload) {
  try {
    socket_.send(zmq::buffer(identity), zmq::send_flags::sndmore);
    socket_.send(zmq::message_t(), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(payload), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    log_.Warn(std::string("reply not delivered: ") + e.what());  // peer gone
  }
}

void Coordinator::CommitBatch() {
  Status c = journal_->CommitBatch();
  if (!c.ok()) {
    // Nothing of the batch is journaled: its senders get no answer and send
    // again, as they do when the coordinator is away.
    log_.Error("journal commit failed, " + std::to_string(pending_replies_.size()) +
               " replies withheld (their senders resend): " + c.message());
    pending_replies_.clear();
    return;
  }
  for (const auto& [identity, payload] : pending_replies_) Send(identity, payload);
  pending_replies_.clear();
}

void Coordinator::Reject(const zmq::message_t& identity, const wire::Envelope& request, const std::string& why) {
  ++rejected_;
  log_.Warn("rejected message (trial " + std::to_string(request.trial()) + " attempt " +
            std::to_string(request.attempt()) + " rank " + std::to_string(request.rank()) +
            (peer_.empty() ? "" : ", peer " + peer_) + "): " + why);
  wire::Envelope reply;
  reply.mutable_reject()->set_reason(why);
  Reply(identity, request, std::move(reply));
}

wire::Assignment Coordinator::MakeAssignment(const Trial& trial) const {
  wire::Assignment a;
  // The full resolved set, so the worker needs no defaults of its own.
  for (const auto& [k, v] : FormatHyperparameters(trial.training)) (*a.mutable_hparams())[k] = v;
  auto* m = a.mutable_model();
  m->set_layers(config_.model.layers);
  m->set_hidden(config_.model.hidden);
  m->set_heads(config_.model.heads);
  m->set_ffn(config_.model.ffn);
  m->set_max_length(config_.model.max_length);
  m->set_init(config_.model.init);
  m->set_task(config_.model.task);
  auto* d = a.mutable_data();
  d->set_shard_dir(std::filesystem::absolute(config_.data.shard_dir).string());
  d->set_sampling_alpha(config_.data.sampling_alpha);
  for (const auto& l : data_.labels) d->add_labels(l);
  for (const auto& l : data_.languages) d->add_languages(l);
  a.set_max_steps(trial.max_steps);
  a.set_eval_every(config_.budget.eval_every);
  a.set_log_every(config_.budget.log_every);
  a.set_threads(config_.trial.threads_per_rank);
  a.set_backend(config_.trial.backend);
  a.set_heartbeat_seconds(config_.trial.heartbeat_seconds);
  // Always a checkpoint directory: pauses (at a rung, or on request) and
  // preemptions commit a checkpoint there even when periodic ones are off.
  a.set_checkpoint_dir(std::filesystem::absolute(config_.output_dir).string() + "/checkpoints/trial-" +
                       std::to_string(trial.id));
  a.set_checkpoint_every(config_.trial.checkpoint_every);
  a.set_checkpoint_every_seconds(config_.trial.checkpoint_every_seconds);
  a.set_keep_checkpoints(config_.trial.keep_checkpoints);
  a.set_keep_best_checkpoints(config_.trial.keep_best_checkpoints);
  a.set_synthetic_step_ms(config_.trial.synthetic_step_ms);
  a.set_bucket_mb(config_.trial.bucket_mb);
  a.set_first_bucket_mb(config_.trial.first_bucket_mb);
  a.set_overlap(config_.trial.overlap);
  a.set_collective_timeout_seconds(config_.trial.collective_timeout_seconds);
  wire::MetricSpec* metric = a.mutable_metric();
  metric->set_name(config_.metric.name);
  metric->set_over(config_.metric.over);
  metric->set_maximize(config_.metric.maximize);
  metric->set_min_language_f1(config_.metric.min_language_f1);
  if (trial.stop_at < trial.max_steps) a.set_stop_at_step(trial.stop_at);
  return a;
}

Status Coordinator::RecordProgress(Trial& t, const wire::Progress& p) {
  if (p.origin_attempt() > t.attempt) return Status::Error("replayed from a later attempt than the current one");
  auto stored = journal_->RecordProgress(t.id, t.attempt, p);
  if (!stored.ok()) return stored.status();
  if (p.origin_attempt() != 0 && p.origin_attempt() != t.attempt) return Status::Ok();  // an earlier attempt's, replayed
  const int64_t step = p.step();
  const int64_t tenth = std::max<int64_t>(1, t.max_steps / 10);
  if (step / tenth != t.last_progress.step() / tenth || step == t.max_steps) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "trial %llu step %lld/%lld loss %.4f lr %.2e %.1f samples/s",
                  static_cast<unsigned long long>(t.id), static_cast<long long>(step),
                  static_cast<long long>(t.max_steps), p.loss(), p.lr(), p.samples_per_sec());
    log_.Info(buf);
  }
  t.last_progress = p;
  return Status::Ok();
}

void Coordinator::HandleTrialMessage(const zmq::message_t& identity, const wire::Envelope& env, Trial& t) {
  wire::Envelope reply;
  reply.mutable_ack();
  switch (env.body_case()) {
    case wire::Envelope::kHello: {
      t.ranks[env.rank()] = Trial::RankLiveness{0, 0, WallSeconds(), env.hello().host(), env.hello().pid()};
      log_.Info("trial " + std::to_string(t.id) + " rank " + std::to_string(env.rank()) + "/" +
                std::to_string(env.hello().world_size()) + " connected from " + env.hello().host() +
                " pid " + std::to_string(env.hello().pid()) +
                (env.hello().slurm_step().empty() ? "" : " in Slurm step " + env.hello().slurm_step()));
      if (env.rank() == 0 && !env.hello().slurm_step().empty()) {
        Status s = journal_->SetSlurmStep(t.id, env.hello().slurm_step());
        if (!s.ok()) log_.Error(s.message());
      }
      *reply.mutable_assignment() = MakeAssignment(t);
      break;
    }
    case wire::Envelope::kProgress: {
      Status s = RecordProgress(t, env.progress());
      if (!s.ok()) return Reject(identity, env, "journal: " + s.message());
      break;
    }
    case wire::Envelope::kProgressBatch:
      for (const wire::Progress& p : env.progress_batch().reports()) {
        // Reports before a failure stay in the batch's transaction; the
        // sender resends them all and the journal keeps each step once.
        Status s = RecordProgress(t, p);
        if (!s.ok()) return Reject(identity, env, "journal: " + s.message());
      }
      break;
    case wire::Envelope::kEvaluation: {
      if (env.evaluation().origin_attempt() > t.attempt) {
        return Reject(identity, env, "evaluation replayed from a later attempt than the current one");
      }
      const ObjectiveValue objective = Objective(env.evaluation());
      auto stored = journal_->RecordEvaluation(t.id, t.attempt, env.evaluation(), objective.value, objective.feasible);
      if (!stored.ok()) return Reject(identity, env, "journal: " + stored.status().message());
      t.has_eval = true;
      t.last_eval = env.evaluation();
      t.last_score = Score(objective);
      char buf[200];
      if (config_.model.task == "masked_lm") {  // scored on the masked tokens; no F1
        std::snprintf(buf, sizeof buf, "trial %llu eval at step %lld: masked-token accuracy %.4f valid_loss %.4f",
                      static_cast<unsigned long long>(t.id), static_cast<long long>(env.evaluation().step()),
                      env.evaluation().accuracy(), env.evaluation().loss());
      } else {
        std::snprintf(buf, sizeof buf, "trial %llu eval at step %lld: accuracy %.4f macro_f1 %.4f valid_loss %.4f",
                      static_cast<unsigned long long>(t.id), static_cast<long long>(env.evaluation().step()),
                      env.evaluation().accuracy(), env.evaluation().macro_f1(), env.evaluation().loss());
      }
      const bool replayed = env.evaluation().origin_attempt() != 0 && env.evaluation().origin_attempt() != t.attempt;
      log_.Info(std::string(buf) + (replayed ? " (replayed from attempt " +
                                                   std::to_string(env.evaluation().origin_attempt()) + "'s checkpoint)"
                                  : "") +
                (*stored ? "" : " (journaled before: not stored again)"));
      const int64_t step = env.evaluation().step();
      // A step journaled before (a resent or replayed report, a step trained
      // again after a restart): the scheduler heard of it then.
      if (*stored && !objective.feasible) {
        log_.Info("trial " + std::to_string(t.id) + " is infeasible at step " + std::to_string(step) + ": " +
                  objective.violation);
      }
      if (*stored && scheduler_->Report(t.id, step, Score(objective)) && t.command == wire::COMMAND_NONE &&
          step < t.stop_at) {
        std::snprintf(buf, sizeof buf, "%s: %s %.4f%s at step %lld is below the median of the other trials",
                      scheduler_->name().c_str(), MetricLabel(config_.metric).c_str(), objective.value,
                      objective.feasible ? "" : " (infeasible)", static_cast<long long>(step));
        Status c = SendCommand(t, wire::COMMAND_STOP, "prune", "pruned", buf, step);
        if (!c.ok()) return Reject(identity, env, "journal: " + c.message());
      }
      // At its stop rank 0 waits for the answer: train on, or pause there.
      if (env.rank() == 0 && step == t.stop_at && t.continued_at != step) {
        Status c = ContinueAtStop(t, step, objective);
        if (!c.ok()) return Reject(identity, env, "journal: " + c.message());
      }
      if (env.rank() == 0 && step == t.continued_at) reply.mutable_ack()->set_continue_to(t.stop_at);
      break;
    }
    case wire::Envelope::kHeartbeat: {
      auto it = t.ranks.find(env.rank());
      if (it == t.ranks.end()) {
        // A rank of an adopted trial re-announces itself with its heartbeat.
        if (env.heartbeat().host().empty()) return Reject(identity, env, "heartbeat before hello");
        if (env.rank() < 0 || env.rank() >= config_.trial.ranks) return Reject(identity, env, "no such rank");
        it = t.ranks.emplace(env.rank(), Trial::RankLiveness{env.heartbeat().work(), env.heartbeat().step(), WallSeconds(),
                                                            env.heartbeat().host(), env.heartbeat().pid()}).first;
        log_.Info("trial " + std::to_string(t.id) + " rank " + std::to_string(env.rank()) + " on " +
                  env.heartbeat().host() + " pid " + std::to_string(env.heartbeat().pid()) + " reconnected at step " +
                  std::to_string(env.heartbeat().step()));
      }
      const double now = WallSeconds();
      if (env.heartbeat().work() != it->second.work) {
        it->second.work = env.heartbeat().work();
        it->second.last_change = now;
      }
      Trial::RankLiveness& r = it->second;
      if (r.rate_step >= 0 && env.heartbeat().step() > r.rate_step && now > r.rate_at) {
        r.steps_per_sec = static_cast<double>(env.heartbeat().step() - r.rate_step) / (now - r.rate_at);
      } else if (env.heartbeat().step() == r.step) {
        r.steps_per_sec = 0;  // it did not move since the last heartbeat
      }
      r.rate_step = env.heartbeat().step();
      r.rate_at = now;
      r.step = env.heartbeat().step();
      break;
    }
    case wire::Envelope::kTrialEnd:
      t.end_reported = true;
      t.reported_error = env.trial_end().error();
      t.reported_reason = env.trial_end().reason();
      t.preempted_at = env.trial_end().preempted() ? env.trial_end().steps() : -1;
      t.pause_reported = env.trial_end().paused();
      if (t.pause_reported) t.paused_at = env.trial_end().steps();
      t.stop_reported = env.trial_end().stopped();
      t.early_stopped_at = env.trial_end().early_stopped() ? env.trial_end().steps() : -1;
      // An agent's attempt ends with its report: the agent asks for the next trial.
      if (options_.agents && env.rank() == 0) options_.agents->Finish(t.id, t.attempt);
      break;
    default:
      return Reject(identity, env, "unexpected message type from a rank");
  }
  if (t.command != wire::COMMAND_NONE && env.rank() == 0 && reply.has_ack()) reply.mutable_ack()->set_command(t.command);
  Reply(identity, env, std::move(reply));
}

bool Coordinator::HandleMessage() {
  std::vector<zmq::message_t> frames;
  while (true) {
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) break;
    frames.push_back(std::move(frame));
    if (!socket_.get(zmq::sockopt::rcvmore)) break;
  }
  if (frames.empty()) return false;
  HandleFrames(frames);
  return true;
}

void Coordinator::HandleFrames(std::vector<zmq::message_t>& frames) {
  if (frames.size() != 3 || frames[1].size() != 0) {
    ++rejected_;
    log_.Warn("dropped a message with unexpected framing (" + std::to_string(frames.size()) + " frames)");
    return;
  }
  // With CURVE, the ZAP handler named the peer: "worker:<key>" or "owner:<key>".
  std::string user_id;
  if (options_.security) {
    try {
      user_id = frames[2].gets("User-Id");
    } catch (const zmq::error_t&) {
    }
  }
  const std::string role = ZapAuthenticator::RoleOf(user_id);
  peer_ = user_id;
  auto env = DecodeEnvelope(frames[2].data(), frames[2].size());
  if (!env.ok()) {
    ++rejected_;
    log_.Warn("dropped a message" + (user_id.empty() ? "" : " from " + user_id) + ": " + env.status().message());
    return;
  }
  if (Status valid = ValidateEnvelope(*env); !valid.ok()) return Reject(frames[0], *env, "invalid: " + valid.message());
  if (env->body_case() == wire::Envelope::kStatusRequest) {
    wire::Envelope reply;
    *reply.mutable_status_reply() = Snapshot();
    return Reply(frames[0], *env, std::move(reply));
  }
  if (env->body_case() == wire::Envelope::kControlRequest) {
    // A control request may launch processes: its decision is committed
    // before anything acts on it.
    CommitBatch();
    return HandleControl(frames[0], *env, role);
  }
  if (options_.security && role != "worker") return Reject(frames[0], *env, "only the sweep's ranks may report (peer " + user_id + ")");
  if (env->body_case() == wire::Envelope::kClaim) return HandleClaim(frames[0], *env);
  if (env->sweep() != config_.name) return Reject(frames[0], *env, "unknown sweep \"" + env->sweep() + "\"");
  auto it = trials_.find(env->trial());
  if (it == trials_.end()) return Reject(frames[0], *env, "unknown trial");
  Trial& t = *it->second;
  if (env->attempt() != t.attempt) return Reject(frames[0], *env, "stale attempt (current is " + std::to_string(t.attempt) + ")");
  if (t.state != "running") return Reject(frames[0], *env, "trial is " + t.state);
  HandleTrialMessage(frames[0], *env, t);
}

void Coordinator::FinishTrial(Trial& t, const ExitInfo& ended) {
  ExitInfo exit = ended;
  // Rank 0 reported the end without an error: the attempt's work is done
  // (and a checkpoint its end names is committed), so how its processes went
  // afterwards (a rank stopped or killed on its way out, the attempt killed
  // for hanging there) does not change the trial's outcome.
  if (t.end_reported && t.reported_error.empty() && !exit.ok()) {
    log_.Warn("trial " + std::to_string(t.id) + " attempt " + std::to_string(t.attempt) + " ended (" + exit.Describe() +
              (t.failure.empty() ? "" : ", " + t.failure) + ") after it reported its end: the end stands");
    exit = ExitInfo::Code(0);
    t.failure.clear();
  }
  // Told to stop: it ends as the command said, however its processes ended
  // (a rank that ignored the command is killed after the hang timeout).
  if (t.command == wire::COMMAND_STOP && t.reported_error.empty()) {
    log_.Info("trial " + std::to_string(t.id) + " " + t.command_outcome + ": " + t.command_reason);
    return EndTrial(t, t.command_outcome, t.command_reason, t.command_outcome);
  }
  // Stopped with a checkpoint because the coordinator's job ends: it goes on
  // from there when the sweep is continued.
  if (t.command == wire::COMMAND_PAUSE && t.command_outcome == "drain" && t.reported_error.empty()) {
    const int64_t step = t.pause_reported ? t.paused_at : t.last_progress.step();
    return InterruptTrial(t, t.pause_reported ? "checkpoint committed at step " + std::to_string(step) +
                                                    " before the coordinator's job ended"
                                              : "stopped before the coordinator's job ended; continues from its last checkpoint");
  }
  // Paused at its stop or on request (a rank that ignored the pause command
  // was killed: its last checkpoint is where it resumes from).
  if ((t.pause_reported && exit.ok() && t.reported_error.empty()) ||
      (t.command == wire::COMMAND_PAUSE && t.reported_error.empty())) {
    if (!t.pause_reported) t.paused_at = t.last_progress.step();
    return PauseTrial(t);
  }
  // Preempted on request with a checkpoint committed: requeue at once as a
  // new attempt, without spending the restart budget.
  if (t.preempted_at >= 0 && exit.ok() && t.reported_error.empty()) {
    const int64_t step = t.preempted_at;
    log_.Info("trial " + std::to_string(t.id) + " preempted at step " + std::to_string(step) + "; requeued");
    // Synthetic trials keep no checkpoint: theirs start over.
    const std::string why = config_.trial.synthetic_step_ms > 0
                                ? "preempted at step " + std::to_string(step) + " (a synthetic trial: it starts over)"
                                : "checkpoint committed at step " + std::to_string(step);
    Status j = journal_->Transition(t.id, t.attempt, "preempted", why);
    if (!j.ok()) log_.Error(j.message());
    NextAttempt(t);
    LaunchAttempt(t, "requeued after preemption at step " + std::to_string(step));
    return;
  }
  // The backend could not start the ranks (Slurm aborted the step's launch):
  // nothing of the trial ran, so it is launched again without spending a
  // restart, a few times.
  constexpr int kLaunchRetries = 3;
  if (exit.not_started && t.ranks.empty() && t.launch_retries < kLaunchRetries) {
    ++t.launch_retries;
    const std::string why = exit.Describe() + "; launching again (" + std::to_string(t.launch_retries) + "/" +
                            std::to_string(kLaunchRetries) + ")";
    log_.Warn("trial " + std::to_string(t.id) + " attempt " + std::to_string(t.attempt) + ": " + why);
    NextAttempt(t);
    LaunchAttempt(t, why);
    return;
  }
  // A crash (ranks died without reporting an error of their own) is retried
  // from the last checkpoint while the trial's restart budget lasts; errors
  // the worker reported (bad data, bad config) would only happen again.
  const bool crashed = t.reported_error.empty() && !t.end_reported;
  if (crashed && t.restarts < config_.trial.max_restarts) {
    ++t.restarts;
    Status r = journal_->SetRestarts(t.id, t.restarts);
    if (!r.ok()) log_.Error(r.message());
    const std::string why = "attempt " + std::to_string(t.attempt) + " failed: " +
                            (t.failure.empty() ? "worker " + exit.Describe() : t.failure);
    log_.Warn("trial " + std::to_string(t.id) + " " + why + "; restart " + std::to_string(t.restarts) + "/" +
              std::to_string(config_.trial.max_restarts) + " from its last checkpoint");
    NextAttempt(t);
    LaunchAttempt(t, "restart " + std::to_string(t.restarts) + "/" + std::to_string(config_.trial.max_restarts) +
                         " after " + why);
    return;
  }
  std::string outcome = "completed", error, reason;
  if (!exit.ok() || !t.end_reported || !t.reported_error.empty()) {
    outcome = "failed";
    error = !t.reported_error.empty() ? t.reported_error
            : !t.failure.empty()      ? t.failure
            : !exit.ok()              ? "worker " + exit.Describe() + " (see " + t.log_path + ")"
                                      : "workers exited without reporting the end of training";
    reason = !t.reported_error.empty() ? (t.reported_reason.empty() ? "error" : t.reported_reason)
             : !t.failure.empty()      ? "hang"
                                       : "crashed rank";
  }
  if (outcome == "completed" && t.early_stopped_at >= 0) {
    const std::string why = "early stop at step " + std::to_string(t.early_stopped_at) + " of " +
                            std::to_string(t.max_steps) + ": no better " + MetricLabel(config_.metric) + " in " +
                            std::to_string(t.training.early_stopping_patience) + " evaluations";
    Status d = journal_->AddDecision({t.id, t.attempt, "early stop", t.early_stopped_at, t.last_score, t.max_steps, why});
    if (!d.ok()) log_.Error(d.message());
    log_.Info("trial " + std::to_string(t.id) + " " + why);
  }
  EndTrial(t, outcome, error, reason);
  if (outcome == "completed") {
    char buf[200];
    std::snprintf(buf, sizeof buf, "trial %llu completed in %.1f s: %s %.4f",
                  static_cast<unsigned long long>(t.id), WallSeconds() - t.started,
                  MetricLabel(config_.metric).c_str(), t.has_eval ? Objective(t.last_eval).value : NAN);
    log_.Info(buf);
  } else {
    log_.Error("trial " + std::to_string(t.id) + " failed: " + error);
  }
}

void Coordinator::EndTrial(Trial& t, const std::string& outcome, const std::string& error, const std::string& reason) {
  Status s = journal_->FinishTrial(t.id, t.attempt, outcome, error, reason);
  if (!s.ok()) log_.Error(s.message());
  t.state = outcome;
  t.process.reset();
  scheduler_->Ended(t.id, outcome == "completed");
  if (outcome != "failed") searcher_->Observe(t.id, t.params, t.last_score);
}

void Coordinator::InterruptTrial(Trial& t, const std::string& why) {
  t.process.reset();
  t.state = "interrupted";
  Status j = journal_->Transition(t.id, t.attempt, "interrupted", why);
  if (!j.ok()) log_.Error(j.message());
  log_.Info("trial " + std::to_string(t.id) + " " + why);
}

void Coordinator::StartDrain() {
  draining_since_ = WallSeconds();
  int asked = 0;
  for (auto& [id, t] : trials_) {
    if (!t->process || !t->process->started() || t->command != wire::COMMAND_NONE) continue;
    Status s = SendCommand(*t, wire::COMMAND_PAUSE, "drain", "drain",
                           "checkpoint and stop: the coordinator's job is about to end");
    if (!s.ok()) log_.Error(s.message());
    ++asked;
  }
  log_.Warn("draining: " + std::to_string(asked) + " running trials asked to checkpoint and stop within " +
            std::to_string(static_cast<int>(options_.drain_seconds)) + " s; no new trial starts");
}

Status Coordinator::ContinueAtStop(Trial& t, int64_t step, const ObjectiveValue& objective) {
  if (!config_.scheduler.promote_in_place || t.stop_at >= t.max_steps || t.command != wire::COMMAND_NONE) {
    return Status::Ok();
  }
  // Idle as LaunchReadyTrials would see it once this trial paused.
  const bool idle = searcher_done_ && LiveTrials().size() <= 1;
  const double score = Score(objective);
  std::optional<Promotion> p = scheduler_->Continue(t.id, step, score, idle);
  if (!p) return Status::Ok();
  const int64_t stop_at = std::min(p->stop_at, t.max_steps);
  char buf[240];
  std::snprintf(buf, sizeof buf,
                "promoted from rung %d (step %lld, %s %.4f%s) as it reached it: trains on to step %lld without pausing",
                p->rung, static_cast<long long>(step), MetricLabel(config_.metric).c_str(), objective.value,
                objective.feasible ? "" : " (infeasible)", static_cast<long long>(stop_at));
  // Journaled before the answer goes: a restarted coordinator gives it again.
  PS_RETURN_IF_ERROR(journal_->AddDecision({t.id, t.attempt, "continue", step, score, stop_at, buf}));
  t.stop_at = stop_at;
  t.continued_at = step;
  searcher_->Observe(t.id, t.params, score);  // what it scored so far, as at a pause
  log_.Info("trial " + std::to_string(t.id) + " " + buf);
  return Status::Ok();
}

void Coordinator::PauseTrial(Trial& t) {
  t.process.reset();
  t.state = "paused";
  const int64_t step = t.paused_at;
  if (t.command == wire::COMMAND_NONE && t.continued_at >= 0 && step == t.continued_at) {
    // Promoted at its stop, but its ranks paused there all the same (a
    // preemption signal arrived at that step): the promotion stands, and a
    // new attempt takes it on from the checkpoint.
    const std::string why = "paused at step " + std::to_string(step) + " as it was promoted";
    Status j = journal_->Transition(t.id, t.attempt, "paused", why);
    if (!j.ok()) log_.Error(j.message());
    ResumeTrial(t, t.stop_at, "resumed from its checkpoint at step " + std::to_string(step) +
                                  " to train to step " + std::to_string(t.stop_at) + " (promoted there)");
    return;
  }
  std::string why;
  if (t.command == wire::COMMAND_PAUSE) {
    t.owner_paused = true;
    why = "paused at step " + std::to_string(step) + ": " + t.command_reason + " (polysweep resume " +
          std::to_string(t.id) + " continues it)";
  } else {
    // At its stop: the scheduler's result for this rung is the evaluation there.
    const bool evaluated = t.has_eval && t.last_eval.step() == step;
    const ObjectiveValue objective = evaluated ? Objective(t.last_eval) : ObjectiveValue{NAN, true, ""};
    char buf[200];
    std::snprintf(buf, sizeof buf, "paused at step %lld for the %s scheduler: %s %.4f%s", static_cast<long long>(step),
                  scheduler_->name().c_str(), MetricLabel(config_.metric).c_str(), objective.value,
                  objective.feasible ? "" : " (infeasible)");
    why = buf;
    Status d = journal_->AddDecision({t.id, t.attempt, "rung", step, Score(objective), t.stop_at, why});
    if (!d.ok()) log_.Error(d.message());
    scheduler_->Paused(t.id, step, Score(objective));
    searcher_->Observe(t.id, t.params, Score(objective));  // what it scored so far
  }
  Status j = journal_->Transition(t.id, t.attempt, "paused", why);
  if (!j.ok()) log_.Error(j.message());
  log_.Info("trial " + std::to_string(t.id) + " " + why);
}

Status Coordinator::SendCommand(Trial& t, wire::Command command, const std::string& kind, const std::string& outcome,
                                const std::string& why, int64_t step) {
  // Journaled before it is sent: a restarted coordinator sends it again.
  if (step < 0) step = t.last_progress.step();
  PS_RETURN_IF_ERROR(journal_->AddDecision({t.id, t.attempt, kind, step, NAN, t.stop_at, why}));
  t.command = command;
  t.command_outcome = outcome;
  t.command_reason = why;
  t.command_at = WallSeconds();
  log_.Info("trial " + std::to_string(t.id) + ": " + (command == wire::COMMAND_STOP ? "stop" : "pause") +
            " sent at step " + std::to_string(t.last_progress.step()) + " (" + why + ")");
  return Status::Ok();
}

void Coordinator::LogSweepProgress() {
  constexpr double kProgressEverySeconds = 30;
  const double now = WallSeconds();
  if (progress_logged_at_ != 0 && now - progress_logged_at_ < kProgressEverySeconds) return;
  // From memory, not from a journal snapshot: a sweep of 10,000 trials pays
  // one pass over its trials every 30 s, and one query for the best.
  int ended = 0, running = 0;
  int64_t done = 0, left = 0, full = 0;
  for (const auto& [id, t] : trials_) {
    const std::string& st = t->state;
    const int64_t step = t->last_progress.step();
    done += step;
    full = std::max(full, t->max_steps);
    if (IsFinal(st)) {
      ++ended;
    } else {
      running += st == "running";
      left += std::max<int64_t>(0, t->max_steps - step);
    }
  }
  left += std::max<int64_t>(0, config_.budget.max_trials - static_cast<int64_t>(trials_.size())) * full;
  if (progress_logged_at_ == 0) {  // the first line after a full interval, at this run's rate
    progress_logged_at_ = progress_started_at_ = now;
    progress_steps_at_start_ = done;
    return;
  }
  const double rate = static_cast<double>(done - progress_steps_at_start_) / (now - progress_started_at_);
  progress_logged_at_ = now;
  const double fraction = done + left > 0 ? static_cast<double>(done) / static_cast<double>(done + left) : 0;
  const int filled = static_cast<int>(std::lround(fraction * 20));
  std::string line = "sweep [" + std::string(filled, '#') + std::string(20 - filled, '-') + "] " +
                     std::to_string(static_cast<int>(fraction * 100)) + "% of the steps: " + std::to_string(ended) +
                     " of " + std::to_string(config_.budget.max_trials) + " trials ended, " + std::to_string(running) +
                     " running";
  auto best = journal_->BestEvaluation(config_.metric.maximize);
  if (best.ok() && *best) {
    line += ", best " + config_.metric.name + " " + Fixed((*best)->objective, 4) + " (trial " +
            std::to_string((*best)->trial) + ")" + ((*best)->feasible ? "" : ", infeasible");
  }
  if (rate > 0) line += ", eta at most " + Duration(static_cast<double>(left) / rate);
  log_.Info(line);
}

void Coordinator::CheckHangs() {
  const double now = WallSeconds();
  const double limit = config_.trial.hang_timeout_seconds;
  const double start_limit = config_.trial.start_timeout_seconds;
  for (Trial* t : LiveTrials()) {
    const uint64_t id = t->id;
    if (!t->process || !t->process->started()) continue;
    std::string stalled;
    if (t->command != wire::COMMAND_NONE && now - t->command_at > limit) {
      stalled = "the trial did not act on its " + std::string(t->command == wire::COMMAND_STOP ? "stop" : "pause") +
                " command within " + std::to_string(static_cast<int>(limit)) + " s";
    }
    if (static_cast<int>(t->ranks.size()) < config_.trial.ranks && now - t->launched_at > start_limit) {
      stalled = std::to_string(config_.trial.ranks - static_cast<int>(t->ranks.size())) + " rank(s) never connected within " +
                std::to_string(static_cast<int>(start_limit)) + " s";
    }
    for (const auto& [rank, r] : t->ranks) {
      // Before its first step a rank loads data and the model: it is judged
      // against the start timeout, afterwards against the hang timeout.
      const double allowed = r.work == 0 ? start_limit : limit;
      if (!stalled.empty() || now - r.last_change <= allowed) continue;
      char buf[256];
      std::snprintf(buf, sizeof buf, "hang: rank %d/%d on host %s (pid %d) made no progress for %.1f s at step %lld",
                    rank, config_.trial.ranks, r.host.c_str(), r.pid, now - r.last_change,
                    static_cast<long long>(r.step));
      stalled = buf;
    }
    if (stalled.empty()) continue;
    log_.Error("trial " + std::to_string(id) + " attempt " + std::to_string(t->attempt) + ": " + stalled +
               "; killing the trial's processes");
    t->failure = stalled;
    ExitInfo exit = t->process->Kill(options_.kill_grace_ms);
    if (exit.ok()) exit.signal = SIGKILL;  // it did not end by itself
    FinishTrial(*t, exit);
  }
}

void Coordinator::ReapTrials() {
  for (Trial* t : LiveTrials()) {
    if (!t->process) continue;  // ended by an earlier one's relaunch
    if (auto exit = t->process->Poll()) FinishTrial(*t, *exit);
  }
}

std::vector<Coordinator::Trial*> Coordinator::LiveTrials() {
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

wire::StatusReply Coordinator::Snapshot() const {
  auto snap = journal_->Snapshot();
  wire::StatusReply reply = snap.ok() ? *snap : wire::StatusReply();
  reply.set_endpoint(endpoint_);
  reply.set_rejected_messages(static_cast<uint32_t>(rejected_));
  reply.set_rejected_connections(static_cast<uint32_t>(std::max<uint64_t>(refused_handshakes_, zap_ ? zap_->refused() : 0)));
  reply.set_secured(options_.security.has_value());
  // What only the running coordinator knows: each running rank's liveness.
  const double now = WallSeconds();
  for (auto& summary : *reply.mutable_trials()) {
    auto it = trials_.find(summary.id());
    if (it == trials_.end() || summary.state() != "running") continue;
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

void Coordinator::HandleControl(const zmq::message_t& identity, const wire::Envelope& env, const std::string& role) {
  const wire::ControlRequest& req = env.control_request();
  if (options_.security && role != "owner") return Reject(identity, env, "controlling a trial needs the owner's key");
  auto it = trials_.find(req.trial());
  if (it == trials_.end()) return Reject(identity, env, "no trial " + std::to_string(req.trial()));
  Trial& t = *it->second;
  const std::string id = "trial " + std::to_string(t.id);
  Status done;
  switch (req.command()) {
    case wire::COMMAND_STOP:
      if (t.state == "paused") {
        Status d = journal_->AddDecision({t.id, t.attempt, "stop", t.paused_at, NAN, t.stop_at, "stopped by the owner"});
        if (!d.ok()) return Reject(identity, env, "journal: " + d.message());
        log_.Info(id + " stopped by the owner while paused");
        t.owner_paused = false;
        EndTrial(t, "stopped", "stopped by the owner", "stopped");
        break;
      }
      if (!t.process) return Reject(identity, env, id + " is not running (" + t.state + ")");
      done = SendCommand(t, wire::COMMAND_STOP, "stop", "stopped", "stopped by the owner");
      break;
    case wire::COMMAND_PAUSE:
      if (!t.process) return Reject(identity, env, id + " is not running (" + t.state + ")");
      if (t.command != wire::COMMAND_NONE) return Reject(identity, env, id + " already has a command pending");
      done = SendCommand(t, wire::COMMAND_PAUSE, "pause", "", "paused by the owner");
      break;
    case wire::COMMAND_RESUME: {
      if (t.state != "paused") return Reject(identity, env, id + " is not paused (" + t.state + ")");
      // Paused at a rung, the owner overrides the scheduler: it trains to the end.
      const bool at_rung = !t.owner_paused;
      const int64_t stop_at = at_rung ? t.max_steps : t.stop_at;
      const std::string why = "resumed by the owner at step " + std::to_string(t.paused_at) + " to train to step " +
                              std::to_string(stop_at);
      done = journal_->AddDecision({t.id, t.attempt, "resume", t.paused_at, NAN, stop_at, why});
      if (!done.ok()) break;
      t.owner_paused = false;
      if (at_rung) scheduler_->Promoted(t.id, stop_at);
      ResumeTrial(t, stop_at, why);
      break;
    }
    default:
      return Reject(identity, env, "unknown command " + std::to_string(req.command()));
  }
  if (!done.ok()) return Reject(identity, env, "journal: " + done.message());
  wire::Envelope reply;
  reply.mutable_ack();
  Reply(identity, env, std::move(reply));
}

void Coordinator::HandleClaim(const zmq::message_t& identity, const wire::Envelope& env) {
  const wire::Claim& c = env.claim();
  if (!options_.agents) {
    return Reject(identity, env, "sweep " + config_.name + " starts its own trials (trial.launcher: " +
                                     config_.trial.launcher + "); agents serve a sweep with trial.launcher: agents");
  }
  if (!env.sweep().empty() && env.sweep() != config_.name) {
    return Reject(identity, env, "this coordinator runs sweep " + config_.name + ", not " + env.sweep());
  }
  if (c.world_size() != config_.trial.ranks) {
    return Reject(identity, env, "agent " + c.agent() + " has " + std::to_string(c.world_size()) +
                                     " ranks but trial.ranks is " + std::to_string(config_.trial.ranks) +
                                     ": start each agent with " + std::to_string(config_.trial.ranks) +
                                     " ranks (srun --ntasks, mpirun -np)");
  }
  // A resent claim (its answer was lost or late) gets the same answer.
  const std::string process = c.agent() + " " + c.host() + " " + std::to_string(c.pid());
  if (auto it = last_claim_.find(process); it != last_claim_.end() && it->second.first == c.number()) {
    wire::Envelope again;
    again.mutable_offer()->ParseFromString(it->second.second);
    return Reply(identity, env, std::move(again));
  }
  const std::string where = c.agent() + " (" + c.host() + " pid " + std::to_string(c.pid()) +
                            (c.slurm_step().empty() ? "" : ", Slurm step " + c.slurm_step()) + ")";
  if (agents_seen_.insert(c.agent()).second) log_.Info("agent " + where + " connected");
  const uint64_t held = options_.agents->Abandon(
      c.agent(), "agent " + c.agent() + " asked for a new trial without finishing this one: its ranks were restarted");
  if (held) log_.Warn("agent " + where + " no longer runs trial " + std::to_string(held) + ": its ranks were restarted");
  wire::Envelope reply;
  wire::Offer* offer = reply.mutable_offer();
  offer->set_sweep(config_.name);
  std::optional<AgentPool::Claimed> claimed;
  if (draining_since_ == 0 && !sweep_over_) {
    claimed = options_.agents->Claim(c.agent());
    if (!claimed) {
      // The agent may have just ended its trial: account for ended attempts
      // and queue what follows now, rather than have it ask again later.
      ReapTrials();
      LaunchReadyTrials();
      claimed = options_.agents->Claim(c.agent());
    }
  }
  if (claimed) {
    Trial& t = *trials_.at(claimed->trial);
    t.launched_at = WallSeconds();  // the start timeout runs from here
    Status p = journal_->SetProcess(t.id, t.attempt, claimed->handle);
    if (!p.ok()) log_.Error(p.message());
    Status j = journal_->Transition(t.id, t.attempt, "running", "claimed by agent " + where);
    if (!j.ok()) log_.Error(j.message());
    log_.Info("trial " + std::to_string(t.id) + " attempt " + std::to_string(t.attempt) + " claimed by agent " + where);
    // The claim is rank 0's Hello: it is known from now on, and gets its assignment here.
    t.ranks[0] = Trial::RankLiveness{0, 0, WallSeconds(), c.host(), c.pid()};
    if (!c.slurm_step().empty()) {
      Status s = journal_->SetSlurmStep(t.id, c.slurm_step());
      if (!s.ok()) log_.Error(s.message());
    }
    offer->set_trial(t.id);
    offer->set_attempt(t.attempt);
    *offer->mutable_assignment() = MakeAssignment(t);
  } else if (sweep_over_) {
    offer->set_done(true);
    agents_dismissed_.insert(c.agent());
  } else {
    offer->set_wait_ms(250);
  }
  last_claim_[process] = {c.number(), offer->SerializeAsString()};
  // Claimed trials are journaled before the agent learns of them.
  Reply(identity, env, std::move(reply));
}

void Coordinator::DismissAgents() {
  sweep_over_ = true;
  const double until = WallSeconds() + options_.agents_linger_seconds;
  while (agents_dismissed_.size() < agents_seen_.size() && WallSeconds() < until) {
    if (options_.stop && options_.stop->load()) break;
    WaitReadable(socket_, std::chrono::milliseconds(options_.poll_interval_ms));
    while (HandleMessage()) {
    }
  }
  if (!agents_seen_.empty()) {
    log_.Info("sweep over: " + std::to_string(agents_dismissed_.size()) + " of " +
              std::to_string(agents_seen_.size()) + " agents told to exit");
  }
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
      if (!draining || WallSeconds() - draining_since_ > options_.drain_seconds) {
        interrupted = true;
        break;
      }
    } else {
      LaunchReadyTrials();
    }
    // A trial the owner paused keeps the sweep open until it is resumed or stopped.
    bool active = !LiveTrials().empty();
    if (!active && searcher_done_) {  // rare: scanned only when nothing runs
      for (auto& [id, t] : trials_) active |= t->state == "paused" && t->owner_paused;
    }
    if (!active && searcher_done_ && draining_since_ == 0) break;
    // Drain what arrived before looking at exits, so a trial's last reports
    // are journaled before its outcome. Group commit: the facts of up to
    // kBatch messages are committed together, then acknowledged together.
    constexpr int kBatch = 512;
    if (WaitReadable(socket_, std::chrono::milliseconds(options_.poll_interval_ms))) {
      Status b = journal_->BeginBatch();
      if (!b.ok()) log_.Error(b.message());
      for (int n = 0; n < kBatch && HandleMessage(); ++n) {
      }
      CommitBatch();
    }
    DrainMonitor();
    LogSweepProgress();
    CheckHangs();
    ReapTrials();
  }
  if (!interrupted) {
    // The sweep is over: trials still waiting at a rung were not promoted.
    for (auto& [id, t] : trials_) {
      if (t->state != "paused") continue;
      EndTrial(*t, "pruned", "not promoted past step " + std::to_string(t->paused_at), "pruned");
    }
  }
  if (!interrupted && options_.agents) DismissAgents();
  if (interrupted) {
    // Interrupted trials keep their attempt and checkpoints: the next
    // `polysweep sweep` on this journal resumes them.
    log_.Warn(draining_since_ > 0 ? "drained: the sweep continues from its journal when the same command runs again"
                                  : "interrupted: stopping running trials (run the same command again to continue the sweep)");
    for (auto& [id, t] : trials_) {
      if (!t->process) continue;
      t->process->Kill(options_.kill_grace_ms);
      t->process.reset();
      Status j = journal_->Transition(t->id, t->attempt, "interrupted", "sweep interrupted");
      if (!j.ok()) log_.Error(j.message());
      t->state = "interrupted";
    }
  }
  return journal_->FinishSweep(interrupted ? "interrupted" : "finished");
}

}  // namespace polysweep
