#include "worker/trial_report.h"

namespace polysweep {

wire::Evaluation ToWire(const EvalMetrics& m, int64_t step, bool final, const wire::DataSpec& data) {
  wire::Evaluation e;
  e.set_step(step);
  e.set_loss(m.loss);
  e.set_accuracy(m.accuracy);
  e.set_macro_f1(m.macro_f1);
  e.set_final(final);
  if (!m.entities.empty()) {
    e.set_precision(m.precision);
    e.set_recall(m.recall);
    e.set_f1(m.f1);
    for (const EntityScore& t : m.entities) {
      auto* w = e.add_entities();
      w->set_type(t.type);
      w->set_precision(t.precision);
      w->set_recall(t.recall);
      w->set_f1(t.f1);
      w->set_support(t.support);
      w->set_found(t.found);
    }
  }
  if (m.regression) {
    e.set_rmse(m.regression->rmse);
    e.set_mae(m.regression->mae);
    e.set_pearson(m.regression->pearson);
    e.set_spearman(m.regression->spearman);
  }
  for (size_t l = 0; l < m.languages.size(); ++l) {
    if (m.languages[l].count == 0) continue;
    auto* s = e.add_languages();
    s->set_lang(data.languages(static_cast<int>(l)));
    s->set_f1(m.languages[l].f1);
    s->set_accuracy(m.languages[l].accuracy);
    s->set_count(static_cast<int32_t>(m.languages[l].count));
    if (m.languages[l].regression) {
      s->set_rmse(m.languages[l].regression->rmse);
      s->set_pearson(m.languages[l].regression->pearson);
    }
  }
  return e;
}

Status ReplayUnacknowledged(const CheckpointManifest& restored, Reporter* reporter, const Logger& log) {
  if (!restored.unacknowledged || restored.unacknowledged->empty()) return Status::Ok();
  int progress = 0, evaluations = 0;
  for (const wire::Envelope& report : *restored.unacknowledged) {
    if (report.has_progress()) {
      PS_RETURN_IF_ERROR(reporter->Progress(report.progress()));
      ++progress;
    } else if (report.has_evaluation()) {
      PS_RETURN_IF_ERROR(reporter->Evaluation(report.evaluation()));
      ++evaluations;
    }
  }
  log.Info("replayed " + std::to_string(progress) + " progress reports and " + std::to_string(evaluations) +
           " evaluations the coordinator had not acknowledged when the checkpoint was taken");
  return Status::Ok();
}

ProgressWindow::ProgressWindow(int64_t samples) : samples_(samples), start_(Clock::now()) {}

void ProgressWindow::Add(double loss, int64_t consumed) {
  loss_sum_ += loss;
  ++loss_n_;
  samples_ += consumed;
  window_samples_ += consumed;
}

wire::Progress ProgressWindow::Take(int64_t step, double lr, int64_t max_steps, const ReaderPosition& after,
                                    int64_t resumed_from) {
  const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
  wire::Progress p;
  p.set_step(step);
  p.set_loss(loss_sum_ / static_cast<double>(loss_n_));
  p.set_lr(lr);
  p.set_samples_per_sec(secs > 0 ? static_cast<double>(window_samples_) / secs : 0);
  p.set_samples(samples_);
  p.set_max_steps(max_steps);
  p.set_position(after.Encode());
  p.set_resumed_from(resumed_from);
  loss_sum_ = 0;
  loss_n_ = 0;
  window_samples_ = 0;
  start_ = Clock::now();
  return p;
}

}  // namespace polysweep
