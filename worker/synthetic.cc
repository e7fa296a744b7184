#include "worker/synthetic.h"

#include <chrono>
#include <cmath>
#include <thread>

#include "common/hparams.h"
#include "worker/heartbeat.h"
#include "worker/step_agreement.h"

namespace polysweep {

double SyntheticQuality(double lr, double dropout, int64_t step, int64_t max_steps) {
  const double peak = 0.9 * std::exp(-std::pow(std::log10(std::max(lr, 1e-12)) + 3.0, 2) / 2.0) * (1.0 - 0.3 * dropout);
  const double progress = 1.0 - std::exp(-3.0 * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, max_steps)));
  return std::clamp(peak * progress, 0.0, 1.0);
}

StatusOr<TrainResult> RunSyntheticTrial(const wire::Assignment& a, Communicator* comm, Reporter* reporter,
                                        Liveness* liveness, const std::atomic<bool>* preempt) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  TrainingParams params;
  for (const auto& [name, text] : a.hparams()) {
    PS_RETURN_IF_ERROR(ApplyHyperparameter(&params, name, ParamValue::Parse(text)));
  }
  const auto step_time = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(a.synthetic_step_ms()));
  const int64_t max_steps = a.max_steps();
  const int64_t global_batch = static_cast<int64_t>(params.batch_size) * params.grad_accumulation * comm->size();
  auto done = [&](int64_t steps) {
    TrainResult r;
    r.steps = steps;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
  };
  for (int64_t step = 1; step <= max_steps; ++step) {
    std::this_thread::sleep_until(t0 + step * step_time);  // no drift: a trial's work is steps x step_ms
    if (liveness) liveness->Tick(step);
    // Every rank learns of a preemption or rank 0's stop at the same step.
    StepSignals mine;
    mine.preempted = preempt && preempt->load();
    mine.command = reporter ? reporter->command() : wire::COMMAND_NONE;
    auto agreed = AgreeOnStep(comm, mine);
    if (!agreed.ok()) return agreed.status();
    const bool stop = agreed->command == wire::COMMAND_STOP;
    if (stop || agreed->preempted) {
      TrainResult r = done(step);
      (stop ? r.stopped : r.preempted) = true;  // nothing to checkpoint: a requeue starts over
      return r;
    }
    const double quality = SyntheticQuality(params.lr, params.dropout, step, max_steps);
    if (reporter && a.log_every() > 0 && (step % a.log_every() == 0 || step == max_steps)) {
      wire::Progress p;
      p.set_step(step);
      p.set_loss(1.0 - quality + 0.05);
      p.set_lr(ScheduledLr(params.lr_schedule, params.lr, step, params.WarmupSteps(max_steps), max_steps));
      const double seconds = std::max(1e-9, std::chrono::duration<double>(Clock::now() - t0).count());
      p.set_samples(step * global_batch);
      p.set_samples_per_sec(static_cast<double>(step * global_batch) / seconds);
      p.set_max_steps(max_steps);
      p.set_position("0:" + std::to_string(step * global_batch));
      PS_RETURN_IF_ERROR(reporter->Progress(p));
    }
    const bool final = step == max_steps;
    if (reporter && (final || (a.eval_every() > 0 && step % a.eval_every() == 0))) {
      wire::Evaluation e;
      e.set_step(step);
      e.set_loss(1.0 - quality + 0.1);
      e.set_accuracy(quality);
      e.set_macro_f1(quality);
      e.set_final(final);
      // Languages spread around the mean, so language objectives have something to rank.
      const int n = a.data().languages_size();
      for (int l = 0; l < n; ++l) {
        auto* s = e.add_languages();
        s->set_lang(a.data().languages(l));
        const double offset = n > 1 ? 0.1 * (static_cast<double>(l) / (n - 1) - 0.5) : 0.0;
        s->set_f1(std::clamp(quality + offset, 0.0, 1.0));
        s->set_accuracy(std::clamp(quality + offset, 0.0, 1.0));
        s->set_count(10);
      }
      PS_RETURN_IF_ERROR(reporter->Evaluation(e));
    }
  }
  return done(max_steps);
}

}  // namespace polysweep
