// The coordinator's side of the control plane's messages: framing,
// validation and routing of every message, and what each message of a
// trial's ranks (Hello, Progress, Evaluation, Heartbeat, TrialEnd) does.
// Everything journaled is acknowledged only after its batch commits.
#include <cmath>
#include <cstdio>

#include "common/failure.h"
#include "common/tasks.h"
#include "common/wire.h"
#include "coordinator/coordinator.h"
#include "coordinator/zap.h"

namespace polysweep {

bool Coordinator::HandleMessage() {
  std::vector<zmq::message_t> frames = transport_.Receive();
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
  const std::string user_id = transport_.UserId(frames[2]);
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
  if (t.state != TrialState::kRunning) return Reject(frames[0], *env, std::string("trial is ") + TrialStateName(t.state));
  HandleTrialMessage(frames[0], *env, t);
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
  if (journal_->in_batch()) return transport_.Hold(std::move(to), std::move(payload));
  transport_.Send(to, payload);
}

void Coordinator::CommitBatch() {
  Status c = journal_->CommitBatch();
  if (!c.ok()) {
    // Nothing of the batch is journaled: its senders get no answer and send
    // again, as they do when the coordinator is away.
    const size_t withheld = transport_.DropHeld();
    log_.Error("journal commit failed, " + std::to_string(withheld) + " replies withheld (their senders resend): " +
               c.message());
    return;
  }
  transport_.ReleaseHeld();
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

void Coordinator::HandleTrialMessage(const zmq::message_t& identity, const wire::Envelope& env, Trial& t) {
  wire::Envelope reply;
  reply.mutable_ack();
  Status s;
  switch (env.body_case()) {
    case wire::Envelope::kHello:
      OnHello(env, t, &reply);
      break;
    case wire::Envelope::kProgress:
      s = RecordProgress(t, env.progress());
      break;
    case wire::Envelope::kProgressBatch:
      for (const wire::Progress& p : env.progress_batch().reports()) {
        // Reports before a failure stay in the batch's transaction; the
        // sender resends them all and the journal keeps each step once.
        s = RecordProgress(t, p);
        if (!s.ok()) break;
      }
      break;
    case wire::Envelope::kEvaluation:
      s = OnEvaluation(env, t, &reply);
      break;
    case wire::Envelope::kHeartbeat:
      if (Status h = OnHeartbeat(env, t); !h.ok()) return Reject(identity, env, h.message());
      break;
    case wire::Envelope::kTrialEnd:
      OnTrialEnd(env, t);
      break;
    default:
      return Reject(identity, env, "unexpected message type from a rank");
  }
  if (!s.ok()) return Reject(identity, env, s.message());
  if (t.command.pending() && env.rank() == 0 && reply.has_ack()) reply.mutable_ack()->set_command(t.command.command);
  Reply(identity, env, std::move(reply));
}

void Coordinator::OnHello(const wire::Envelope& env, Trial& t, wire::Envelope* reply) {
  const wire::Hello& hello = env.hello();
  t.ranks[env.rank()] = RankLiveness{0, 0, Now(), hello.host(), hello.pid()};
  log_.Info("trial " + std::to_string(t.id) + " rank " + std::to_string(env.rank()) + "/" +
            std::to_string(hello.world_size()) + " connected from " + hello.host() + " pid " +
            std::to_string(hello.pid()) + (hello.slurm_step().empty() ? "" : " in Slurm step " + hello.slurm_step()));
  if (env.rank() == 0 && !hello.slurm_step().empty()) {
    Status s = journal_->SetSlurmStep(t.id, hello.slurm_step());
    if (!s.ok()) log_.Error(s.message());
  }
  *reply->mutable_assignment() = MakeAssignment(t);
}

Status Coordinator::RecordProgress(Trial& t, const wire::Progress& p) {
  if (p.origin_attempt() > t.attempt) return Status::Error("replayed from a later attempt than the current one");
  auto stored = journal_->RecordProgress(t.id, t.attempt, p);
  if (!stored.ok()) return stored.status().With("journal");
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

Status Coordinator::OnEvaluation(const wire::Envelope& env, Trial& t, wire::Envelope* reply) {
  const wire::Evaluation& e = env.evaluation();
  if (e.origin_attempt() > t.attempt) return Status::Error("evaluation replayed from a later attempt than the current one");
  const ObjectiveValue objective = Objective(e);
  auto stored = journal_->RecordEvaluation(t.id, t.attempt, e, objective.value, objective.feasible);
  if (!stored.ok()) return stored.status().With("journal");
  t.last_eval = e;
  t.last_score = Score(objective);
  char buf[240];
  const TaskInfo& task = Task(ParseTaskKind(config_.model.task).value());  // checked by the config's parser
  if (task.metrics == MetricFamily::kMultiLabel) {
    std::snprintf(buf, sizeof buf,
                  "trial %llu eval at step %lld: micro_f1 %.4f macro_f1 %.4f precision %.4f recall %.4f exact match "
                  "%.4f valid_loss %.4f",
                  static_cast<unsigned long long>(t.id), static_cast<long long>(e.step()), e.f1(), e.macro_f1(),
                  e.precision(), e.recall(), e.accuracy(), e.loss());
  } else if (e.has_rmse()) {  // regression: errors and correlations
    std::snprintf(buf, sizeof buf, "trial %llu eval at step %lld: rmse %.4f mae %.4f pearson %.4f spearman %.4f",
                  static_cast<unsigned long long>(t.id), static_cast<long long>(e.step()), e.rmse(), e.mae(),
                  e.pearson(), e.spearman());
  } else if (e.has_f1()) {  // entity tags: spans' precision, recall and F1, and word accuracy
    std::snprintf(buf, sizeof buf,
                  "trial %llu eval at step %lld: entity f1 %.4f precision %.4f recall %.4f word accuracy %.4f "
                  "valid_loss %.4f",
                  static_cast<unsigned long long>(t.id), static_cast<long long>(e.step()), e.f1(), e.precision(),
                  e.recall(), e.accuracy(), e.loss());
  } else if (task.per_token) {
    // Scored per token (checked by the config's parser); no F1.
    std::snprintf(buf, sizeof buf, "trial %llu eval at step %lld: %s accuracy %.4f valid_loss %.4f",
                  static_cast<unsigned long long>(t.id), static_cast<long long>(e.step()),
                  task.label == LabelKind::kMaskedTokens ? "masked-token" : "word", e.accuracy(), e.loss());
  } else {
    std::snprintf(buf, sizeof buf, "trial %llu eval at step %lld: accuracy %.4f macro_f1 %.4f valid_loss %.4f",
                  static_cast<unsigned long long>(t.id), static_cast<long long>(e.step()), e.accuracy(), e.macro_f1(),
                  e.loss());
  }
  const bool replayed = e.origin_attempt() != 0 && e.origin_attempt() != t.attempt;
  log_.Info(std::string(buf) +
            (replayed ? " (replayed from attempt " + std::to_string(e.origin_attempt()) + "'s checkpoint)" : "") +
            (*stored ? "" : " (journaled before: not stored again)"));
  const int64_t step = e.step();
  // A step journaled before (a resent or replayed report, a step trained
  // again after a restart): the scheduler heard of it then.
  if (*stored && !objective.feasible) {
    log_.Info("trial " + std::to_string(t.id) + " is infeasible at step " + std::to_string(step) + ": " +
              objective.violation);
  }
  if (*stored && scheduler_->Report(t.id, step, Score(objective)) && !t.command.pending() && step < t.stop_at) {
    std::snprintf(buf, sizeof buf, "%s: %s %.4f%s at step %lld is below the median of the other trials",
                  scheduler_->name().c_str(), MetricLabel(config_.metric).c_str(), objective.value,
                  objective.feasible ? "" : " (infeasible)", static_cast<long long>(step));
    PS_RETURN_IF_ERROR(
        SendCommand(t, DecisionKind::kPrune, PendingCommand{wire::COMMAND_STOP, TrialState::kPruned, false, buf}, step)
            .With("journal"));
  }
  // At its stop rank 0 waits for the answer: train on, or pause there.
  if (env.rank() == 0 && step == t.stop_at && t.continued_at != step) {
    PS_RETURN_IF_ERROR(ContinueAtStop(t, step, objective).With("journal"));
  }
  if (env.rank() == 0 && step == t.continued_at) reply->mutable_ack()->set_continue_to(t.stop_at);
  return Status::Ok();
}

Status Coordinator::OnHeartbeat(const wire::Envelope& env, Trial& t) {
  const wire::Heartbeat& hb = env.heartbeat();
  auto it = t.ranks.find(env.rank());
  if (it == t.ranks.end()) {
    // A rank of an adopted trial re-announces itself with its heartbeat.
    if (hb.host().empty()) return Status::Error("heartbeat before hello");
    if (env.rank() < 0 || env.rank() >= config_.trial.ranks) return Status::Error("no such rank");
    it = t.ranks.emplace(env.rank(), RankLiveness{hb.work(), hb.step(), Now(), hb.host(), hb.pid()}).first;
    log_.Info("trial " + std::to_string(t.id) + " rank " + std::to_string(env.rank()) + " on " + hb.host() + " pid " +
              std::to_string(hb.pid()) + " reconnected at step " + std::to_string(hb.step()));
  }
  const double now = Now();
  RankLiveness& r = it->second;
  if (hb.work() != r.work) {
    r.work = hb.work();
    r.last_change = now;
  }
  if (r.rate_step >= 0 && hb.step() > r.rate_step && now > r.rate_at) {
    r.steps_per_sec = static_cast<double>(hb.step() - r.rate_step) / (now - r.rate_at);
  } else if (hb.step() == r.step) {
    r.steps_per_sec = 0;  // it did not move since the last heartbeat
  }
  r.rate_step = hb.step();
  r.rate_at = now;
  r.step = hb.step();
  return Status::Ok();
}

void Coordinator::OnTrialEnd(const wire::Envelope& env, Trial& t) {
  const wire::TrialEnd& e = env.trial_end();
  t.end.reported = true;
  t.end.error = e.error();
  // Older ranks send the class by name only.
  t.end.failure = e.failure() != wire::FAILURE_UNSPECIFIED ? e.failure() : ParseFailureClass(e.reason());
  t.end.preempted_at = e.preempted() ? std::optional<int64_t>(e.steps()) : std::nullopt;
  t.end.paused = e.paused();
  if (t.end.paused) t.paused_at = e.steps();
  t.end.stopped = e.stopped();
  t.end.early_stopped_at = e.early_stopped() ? std::optional<int64_t>(e.steps()) : std::nullopt;
  // An agent's attempt ends with its report: the agent asks for the next trial.
  if (agents_ && env.rank() == 0) agents_->Finish(t.id, t.attempt);
}

}  // namespace polysweep
