#include "worker/trainer.h"

#include <chrono>
#include <optional>

#include "common/objective.h"
#include "worker/checkpoint.h"
#include "worker/checkpoint_policy.h"
#include "worker/evaluator.h"
#include "worker/heartbeat.h"
#include "worker/init_weights.h"
#include "worker/masking.h"
#include "worker/prefetcher.h"
#include "worker/step_agreement.h"
#include "worker/train_step.h"
#include "worker/trial_report.h"
#include "worker/trial_resume.h"
#include "worker/trial_setup.h"

namespace polysweep {

namespace {

using Clock = std::chrono::steady_clock;

// One attempt of a trial on this rank, composed of its parts: the setup,
// the data-parallel step, the resume, the evaluator, the ranks' step
// agreement, the checkpoint policy and the reports.
class TrialRun {
 public:
  // `t0`: when the trial started on this rank (its result's seconds count from it).
  TrialRun(const wire::Assignment& a, TrialSetup setup, Communicator* comm, Reporter* reporter, const Logger& log,
           Liveness* liveness, const std::atomic<bool>* preempt, Clock::time_point t0)
      : a_(a), setup_(std::move(setup)), comm_(comm), reporter_(reporter), log_(log), liveness_(liveness),
        preempt_(preempt), t0_(t0), policy_(setup_.rules), evaluator_(*setup_.valid, setup_.eval, comm, liveness) {}

  // Builds the model on every rank (rank 0 loads model.init) and copies
  // rank 0's weights to all.
  Status BuildModel();
  // Restores the newest good checkpoint, if the trial has one.
  Status Resume();
  // A resumed attempt that evaluates, or ends, before its first step.
  StatusOr<std::optional<TrainResult>> BeforeFirstStep();
  // The steps, up to the end or the scheduler's stop.
  StatusOr<TrainResult> Train();

 private:
  const TrainingParams& params() const { return setup_.params; }
  int64_t max_steps() const { return setup_.rules.max_steps; }
  void LogPlan();
  // One optimizer step's micro-batches, masked for a masked-language model.
  std::vector<Batch> NextMicroBatches(BatchPrefetcher& batches, int64_t step, ReaderPosition* after,
                                      int64_t* consumed) const;
  // What follows step `step`: agreement, evaluation, checkpoint, maybe the end.
  StatusOr<std::optional<TrainResult>> AfterStep(int64_t step, const ReaderPosition& after, ProgressWindow* window);
  // Evaluates and reports at `plan`'s step; returns the objective's score.
  // At a rung, rank 0 learns the scheduler's answer into `continue_to`.
  StatusOr<double> EvaluateAndReport(const StepPlan& plan, int64_t* continue_to);
  // Evaluates at `step` and reports it (rank 0) without asking the scheduler.
  Status EvaluateAgain(int64_t step, bool final);
  Status ApplyCheckpoint(StepAction::Checkpoint what, int64_t step, const ReaderPosition& after,
                         std::optional<double> score);
  // Logs how the trial ends at `step`; nullopt when it goes on.
  std::optional<TrainResult> Finish(StepAction::End end, int64_t step) const;
  TrainResult Ended(int64_t step, bool TrainResult::*how) const;

  const wire::Assignment& a_;
  TrialSetup setup_;
  Communicator* comm_;
  Reporter* reporter_;
  const Logger& log_;
  Liveness* liveness_;
  const std::atomic<bool>* preempt_;
  const Clock::time_point t0_;
  CheckpointPolicy policy_;
  Evaluator evaluator_;
  std::optional<DataParallelStep> step_;
  std::optional<Checkpointer> checkpoints_;
  ResumePoint resume_;
};

Status TrialRun::BuildModel() {
  step_.emplace(setup_.shape, params(), comm_, setup_.buckets, setup_.placement);
  if (!a_.model().init().empty() && comm_->rank() == 0) {
    auto loaded = LoadEncoderWeights(step_->model(), a_.model().init());
    if (!loaded.ok()) return loaded.status().As(StatusCode::kInvalidConfig);
    log_.Info("encoder initialised with " + *loaded);
  }
  PS_RETURN_IF_ERROR(step_->Init());
  LogPlan();
  return Status::Ok();
}

void TrialRun::LogPlan() {
  const int accumulation = params().grad_accumulation;
  const int64_t global_batch = static_cast<int64_t>(params().batch_size) * accumulation * comm_->size();
  DataParallelStep& step = *step_;
  log_.Info("training " + std::to_string(max_steps()) + " steps: " + std::to_string(setup_.train->size()) +
            " train / " + std::to_string(setup_.valid->size()) + " valid examples in " +
            std::to_string(setup_.eval.num_langs) + " languages, " + std::to_string(step.sync().numel()) +
            " trained parameters" +
            (step.frozen_numel() > 0 ? " (" + std::to_string(step.frozen_numel()) + " frozen)" : "") +
            ", global batch " + std::to_string(global_batch) +
            (accumulation > 1 ? " (" + std::to_string(accumulation) + " micro-batches per step)" : "") + ", " +
            std::to_string(step.sync().buckets()) + " gradient buckets, backend " + comm_->name());
}

Status TrialRun::Resume() {
  if (a_.checkpoint_dir().empty()) return Status::Ok();
  checkpoints_.emplace(a_.checkpoint_dir(), a_.keep_checkpoints(), comm_, log_, a_.keep_best_checkpoints(), a_.attempt());
  auto point = ResumeTrial(*checkpoints_, *step_, params(), comm_->rank(), &policy_, reporter_, log_);
  if (!point.ok()) return point.status();
  resume_ = *point;
  return Status::Ok();
}

Status TrialRun::EvaluateAgain(int64_t step, bool final) {
  auto metrics = evaluator_.Evaluate(step_->model(), step);
  if (!metrics.ok()) return metrics.status();
  if (reporter_) PS_RETURN_IF_ERROR(reporter_->Evaluation(ToWire(*metrics, step, final, a_.data())));
  return Status::Ok();
}

StatusOr<std::optional<TrainResult>> TrialRun::BeforeFirstStep() {
  const int64_t first = resume_.first_step;
  if (first > max_steps() && resume_.reports_unknown) {
    // Resumed from the final checkpoint of a manifest that does not say
    // which reports were acknowledged: evaluate there again (the journal
    // keeps a step's evaluation once), so the trial ends evaluated.
    PS_RETURN_IF_ERROR(EvaluateAgain(max_steps(), true));
  }
  if (policy_.PausedBeforeStart(first)) {
    // Restarted after committing the checkpoint of its stop, before the
    // coordinator heard of the pause: evaluate there again and pause.
    PS_RETURN_IF_ERROR(EvaluateAgain(first - 1, false));
    return std::optional<TrainResult>(Ended(first - 1, &TrainResult::paused));
  }
  return std::optional<TrainResult>();
}

std::vector<Batch> TrialRun::NextMicroBatches(BatchPrefetcher& batches, int64_t step, ReaderPosition* after,
                                              int64_t* consumed) const {
  std::vector<Batch> micro;
  for (int m = 0; m < params().grad_accumulation; ++m) {
    BatchPrefetcher::Item item = batches.Next();
    if (setup_.masking.on() && item.batch.ids.defined() && item.batch.ids.size(0) > 0) {
      MaskTokens(&item.batch, setup_.masking, MaskSeed(setup_.masking.seed, step, comm_->rank(), m));
    }
    micro.push_back(std::move(item.batch));
    *after = item.after;
    *consumed += item.global;
  }
  return micro;
}

StatusOr<TrainResult> TrialRun::Train() {
  const TrainingParams& p = params();
  const int64_t global_batch = static_cast<int64_t>(p.batch_size) * p.grad_accumulation * comm_->size();
  BatchPrefetcher batches(*setup_.train, setup_.sampling, resume_.start, p.batch_size, comm_->rank(),
                          comm_->size(), TrialSetup::kPad, setup_.max_length, std::max(2, p.grad_accumulation),
                          TargetsFor(Task(setup_.eval.task).label, /*training=*/true), setup_.eval.num_labels);
  const int64_t warmup = p.WarmupSteps(max_steps());
  ProgressWindow window((resume_.first_step - 1) * global_batch);
  policy_.RestartTimer(Clock::now());
  for (int64_t step = resume_.first_step; step <= policy_.stop_at(); ++step) {
    // One optimizer step of its micro-batches; the reader position after
    // the last is where a checkpoint resumes.
    ReaderPosition after;
    int64_t consumed = 0;
    std::vector<Batch> micro = NextMicroBatches(batches, step, &after, &consumed);
    const double lr = ScheduledLr(p.lr_schedule, p.lr, step, warmup, max_steps());
    auto loss = step_->Step(micro, lr);
    if (!loss.ok()) return loss.status();
    if (liveness_) liveness_->Tick(step);
    window.Add(*loss, consumed);
    if (reporter_ && (step % a_.log_every() == 0 || step == max_steps())) {
      PS_RETURN_IF_ERROR(reporter_->Progress(window.Take(step, lr, max_steps(), after, resume_.first_step - 1)));
    }
    auto ended = AfterStep(step, after, &window);
    if (!ended.ok()) return ended.status();
    if (*ended) return **ended;
  }
  if (checkpoints_) PS_RETURN_IF_ERROR(checkpoints_->Flush());
  TrainResult result;
  result.steps = max_steps();
  result.seconds = std::chrono::duration<double>(Clock::now() - t0_).count();
  return result;
}

StatusOr<std::optional<TrainResult>> TrialRun::AfterStep(int64_t step, const ReaderPosition& after,
                                                         ProgressWindow* window) {
  StepSignals mine;
  mine.preempted = preempt_ && preempt_->load();
  mine.checkpoint_due = comm_->rank() == 0 && policy_.TimedDue(Clock::now());
  mine.command = reporter_ ? reporter_->command() : wire::COMMAND_NONE;
  auto agreed = AgreeOnStep(comm_, mine);
  if (!agreed.ok()) return agreed.status();
  if (agreed->command == wire::COMMAND_STOP && step < max_steps()) {
    log_.Info("stopped by the coordinator at step " + std::to_string(step));
    return std::optional<TrainResult>(Ended(step, &TrainResult::stopped));
  }
  StepPlan plan = policy_.Plan(step, agreed->preempted, agreed->command == wire::COMMAND_PAUSE);
  std::optional<double> score;
  int64_t continue_to = 0;
  if (plan.evaluate) {
    auto scored = EvaluateAndReport(plan, &continue_to);
    if (!scored.ok()) return scored.status();
    score = *scored;
    window->RestartClock();  // evaluation time is not training throughput
    policy_.Observe(*score);
  }
  if (plan.ask) {
    auto next = AgreeOnContinueStep(comm_, continue_to);
    if (!next.ok()) return next.status();
    if (policy_.Promote(*next, &plan)) {
      log_.Info("promoted at step " + std::to_string(step) + " by the scheduler: trains on to step " +
                std::to_string(policy_.stop_at()) + " without pausing");
    }
  }
  const StepAction action = policy_.Decide(plan, score.has_value(), agreed->checkpoint_due);
  PS_RETURN_IF_ERROR(ApplyCheckpoint(action.checkpoint, step, after, score));
  return Finish(action.end, step);
}

StatusOr<double> TrialRun::EvaluateAndReport(const StepPlan& plan, int64_t* continue_to) {
  auto metrics = evaluator_.Evaluate(step_->model(), plan.step);
  if (!metrics.ok()) return metrics.status();
  const wire::Evaluation evaluation = ToWire(*metrics, plan.step, plan.final, a_.data());
  if (reporter_ && plan.ask) {
    auto to = reporter_->EvaluationAtStop(evaluation);
    if (!to.ok()) return to.status();
    *continue_to = *to;
  } else if (reporter_) {
    PS_RETURN_IF_ERROR(reporter_->Evaluation(evaluation));
  }
  // Scored as the coordinator scores it, so the best checkpoints can be kept.
  return ObjectiveScore(setup_.metric, ComputeObjective(setup_.metric, evaluation));
}

Status TrialRun::ApplyCheckpoint(StepAction::Checkpoint what, int64_t step, const ReaderPosition& after,
                                 std::optional<double> score) {
  using Checkpoint = StepAction::Checkpoint;
  if (what == Checkpoint::kNone) return Status::Ok();
  if (what == Checkpoint::kSave || what == Checkpoint::kCommit) {
    // What a checkpoint keeps for a resumed attempt to replay (rank 0's reports).
    std::vector<wire::Envelope> unacked = reporter_ ? reporter_->Unacknowledged() : std::vector<wire::Envelope>();
    PS_RETURN_IF_ERROR(checkpoints_->Save(step_->model(), step_->optimizer(), step, after, score, policy_.Count(),
                                          std::move(unacked)));
  }
  if (what == Checkpoint::kSave) {
    policy_.RestartTimer(Clock::now());
    return Status::Ok();
  }
  // Committed (or, with nothing to save, flushed): every rank has written it.
  return checkpoints_->Flush();
}

std::optional<TrainResult> TrialRun::Finish(StepAction::End end, int64_t step) const {
  using End = StepAction::End;
  const std::string at = std::to_string(step);
  switch (end) {
    case End::kNone: return std::nullopt;
    case End::kPaused:
      log_.Info("paused: checkpoint committed at step " + at);
      return Ended(step, &TrainResult::paused);
    case End::kPreempted:
      log_.Info("preempted: checkpoint committed at step " + at);
      return Ended(step, &TrainResult::preempted);
    case End::kEarlyStopped:
      log_.Info("early stop at step " + at + ": no better score in " +
                std::to_string(params().early_stopping_patience) + " evaluations");
      return Ended(step, &TrainResult::early_stopped);
    case End::kRung:
      log_.Info("paused at step " + at + " for the scheduler: checkpoint committed");
      return Ended(step, &TrainResult::paused);
  }
  return std::nullopt;
}

TrainResult TrialRun::Ended(int64_t step, bool TrainResult::*how) const {
  TrainResult result;
  result.steps = step;
  result.*how = true;
  result.seconds = std::chrono::duration<double>(Clock::now() - t0_).count();
  return result;
}

}  // namespace

StatusOr<TrainResult> RunTrial(const wire::Assignment& a, Communicator* comm, Reporter* reporter,
                               const Logger& log, Liveness* liveness, const std::atomic<bool>* preempt) {
  const auto t0 = Clock::now();
  auto setup = SetUpTrial(a);
  if (!setup.ok()) return setup.status();
  TrialRun run(a, std::move(*setup), comm, reporter, log, liveness, preempt, t0);
  PS_RETURN_IF_ERROR(run.BuildModel());
  PS_RETURN_IF_ERROR(run.Resume());
  auto early = run.BeforeFirstStep();
  if (!early.ok()) return early.status();
  if (*early) return **early;
  return run.Train();
}

}  // namespace polysweep
