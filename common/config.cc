// The sweep config's sections as tables of fields (config_reader.h), the
// rules that tie fields and sections together, and the top level. The
// search section is in config_search.cc; what needs the disk (data files,
// a model directory) in config_files.cc.
#include "common/config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/config_reader.h"
#include "common/example.h"
#include "common/languages.h"
#include "common/tasks.h"

namespace polysweep {
namespace {

using config::Field;
using config::Reader;

const std::vector<Field<DataConfig>>& DataFields() {
  using D = DataConfig;
  static const std::vector<Field<D>> fields = {
      config::Texts<D>("files", &D::files),
      config::OneOf<D>("format", &D::format, {"auto", "jsonl", "tsv", "conll"}),
      config::Text<D>("text_field", &D::text_field),
      config::Text<D>("label_field", &D::label_field),
      config::Text<D>("lang_field", &D::lang_field),
      config::Text<D>("group_field", &D::group_field),
      config::Text<D>("text_pair_field", &D::text_pair_field),
      config::Text<D>("split_field", &D::split_field),
      config::Texts<D>("train", &D::train_files),
      config::Texts<D>("valid", &D::valid_files),
      config::Texts<D>("test", &D::test_files),
      config::Texts<D>("languages", &D::languages),
      config::Integer<D>("max_per_language", &D::max_per_language, 0, 1e12),
      config::Number<D>("valid_fraction", &D::valid_fraction, 0.001, 0.5),
      config::Number<D>("test_fraction", &D::test_fraction, 0, 0.5),
      config::Integer<D>("vocab_size", &D::vocab_size, 100, 1000000),
      config::Integer<D>("max_bad_lines", &D::max_bad_lines, 0, 1e12),
      config::Integer<D>("max_line_bytes", &D::max_line_bytes, 64, 1 << 30),
      config::Texts<D>("labels", &D::labels),
      config::Texts<D>("extra_languages", &D::extra_languages),
      config::Text<D>("tokenizer", &D::tokenizer),
      config::OneOf<D>("tokenizer_type", &D::tokenizer_type, {"unigram", "bpe"}),
      config::Integer<D>("max_tokens", &D::max_tokens, 1, 1 << 20),
      config::Number<D>("sampling_alpha", &D::sampling_alpha, 0, 1),
      config::Text<D>("shard_dir", &D::shard_dir),
      config::Integer<D>("threads", &D::threads, 0, 1024),
      config::Text<D>("tokens_field", &D::tokens_field),
      config::Text<D>("tags_field", &D::tags_field),
      config::Integer<D>("token_column", &D::token_column, 0, 1000),
      config::Integer<D>("tag_column", &D::tag_column, -1, 1000),
      config::Text<D>("lang", &D::lang),
      config::Named<D>("tag_scheme", &D::tag_scheme,
                       {{"auto", TagScheme::kAuto}, {"none", TagScheme::kPlain}, {"iob1", TagScheme::kIob1},
                        {"iob2", TagScheme::kIob2}, {"bio", TagScheme::kIob2}, {"bioes", TagScheme::kBioes},
                        {"iobes", TagScheme::kBioes}}),
      config::Flag<D>("label_all_pieces", &D::label_all_pieces),
      config::Text<D>("label_separator", &D::label_separator),
  };
  return fields;
}

Status ParseData(const Reader& r, const YAML::Node& n, SweepConfig* c) {
  PS_RETURN_IF_ERROR(config::ReadSection(r, n, "data", DataFields(), &c->data));
  const bool listed = !c->data.train_files.empty() || !c->data.valid_files.empty() || !c->data.test_files.empty();
  if (!n["files"] && !listed) {
    return r.Error(n, "data.files", "required: a list of JSONL files (or data.train, data.valid and data.test)");
  }
  if (n["files"] && c->data.files.empty()) return r.Error(n["files"], "data.files", "needs at least one file");
  if (listed && c->data.train_files.empty() && c->data.files.empty()) {
    return r.Error(n, "data.train", "data.valid or data.test given without data.train or data.files: nothing to train on");
  }
  // Where the files are named, for config_files.cc's checks.
  for (const char* key : {"files", "train", "valid", "test"}) {
    for (size_t i = 0; n[key] && i < n[key].size(); ++i) {
      c->lines["data." + std::string(key) + "[" + std::to_string(i) + "]"] = Reader::Line(n[key][i]);
    }
  }
  if (n["tokenizer"]) c->lines["data.tokenizer"] = Reader::Line(n["tokenizer"]);
  return Status::Ok();
}

const std::vector<Field<ModelConfig>>& ModelFields() {
  using M = ModelConfig;
  static const std::vector<Field<M>> fields = {
      config::Integer<M>("layers", &M::layers, 1, 48),
      config::Integer<M>("hidden", &M::hidden, 8, 8192),
      config::Integer<M>("heads", &M::heads, 1, 128),
      config::Integer<M>("ffn", &M::ffn, 8, 65536),
      config::Integer<M>("max_length", &M::max_length, 4, 8192),
      config::Text<M>("init", &M::init),
      config::Text<M>("task", &M::task),
      config::Integer<M>("word_features", &M::word_features, 0, 1 << 24),
  };
  return fields;
}

// model.task: a task of the registry (common/tasks.h).
Status CheckTask(const Reader& r, const YAML::Node& n, const std::string& name) {
  auto task = ParseTaskKind(name);
  if (!task.ok()) return r.Error(n["task"], "model.task", task.status().message());
  return Status::Ok();
}

Status ParseModel(const Reader& r, const YAML::Node& n, SweepConfig* c) {
  ModelConfig* m = &c->model;
  PS_RETURN_IF_ERROR(config::ReadSection(r, n, "model", ModelFields(), m));
  PS_RETURN_IF_ERROR(CheckTask(r, n, m->task));
  if (m->word_features > 0 && m->task != TaskKindName(TaskKind::kTokenClassification)) {
    return r.Error(n["word_features"], "model.word_features",
                   "word features are read by token classification only (model.task: token_classification), not " +
                       m->task);
  }
  if (n["init"]) {
    c->lines["model.init"] = Reader::Line(n["init"]);
    m->init = std::filesystem::absolute(m->init).lexically_normal().string();
  }
  // Where the architecture was set: a Hugging Face model.init decides it.
  for (const char* key : {"layers", "hidden", "heads", "ffn", "max_length"}) {
    if (n[key]) c->lines[std::string("model.") + key] = Reader::Line(n[key]);
  }
  if (m->hidden % m->heads != 0) {
    return r.Error(n["heads"] ? n["heads"] : n, "model.heads",
                   "model.hidden (" + std::to_string(m->hidden) + ") must be divisible by heads (" +
                       std::to_string(m->heads) + ")");
  }
  return Status::Ok();
}

// trial.threads_per_rank: a number, or `auto` (0).
Field<TrialResources> ThreadsPerRank() {
  return {"threads_per_rank", [](const Reader& r, const YAML::Node& n, const std::string& p, TrialResources* t) {
            if (n.IsScalar() && n.Scalar() == "auto") {
              t->threads_per_rank = 0;
              return Status::Ok();
            }
            return r.Integer(n, p, &t->threads_per_rank, 1, 256);
          }};
}

std::vector<Field<TrialResources>> TrialFields(const ConfigNames& names) {
  using T = TrialResources;
  return {
      config::Integer<T>("ranks", &T::ranks, 1, 4096),
      ThreadsPerRank(),
      config::OneOf<T>("backend", &T::backend, names.backends),
      config::OneOf<T>("launcher", &T::launcher, names.launchers),
      config::Texts<T>("slurm_args", &T::slurm_args),
      config::Text<T>("hosts", &T::hosts),
      config::Integer<T>("max_restarts", &T::max_restarts, 0, 1000),
      config::Integer<T>("checkpoint_every", &T::checkpoint_every, 0, 1e12),
      config::Number<T>("checkpoint_every_seconds", &T::checkpoint_every_seconds, 0, 1e9),
      config::Integer<T>("keep_checkpoints", &T::keep_checkpoints, 1, 1000),
      config::Integer<T>("keep_best_checkpoints", &T::keep_best_checkpoints, 0, 1000),
      config::Number<T>("heartbeat_seconds", &T::heartbeat_seconds, 0.05, 3600),
      config::Number<T>("hang_timeout_seconds", &T::hang_timeout_seconds, 0.1, 1e6),
      config::Number<T>("start_timeout_seconds", &T::start_timeout_seconds, 1, 1e6),
      config::Number<T>("coordinator_timeout_seconds", &T::coordinator_timeout_seconds, 1, 1e6),
      config::Number<T>("synthetic_step_ms", &T::synthetic_step_ms, 0, 1e6),
      config::Number<T>("bucket_mb", &T::bucket_mb, 0.001, 4096),
      config::Number<T>("first_bucket_mb", &T::first_bucket_mb, 0.001, 4096),
      config::Flag<T>("overlap", &T::overlap),
      config::Number<T>("collective_timeout_seconds", &T::collective_timeout_seconds, 0.1, 1e6),
  };
}

Status ParseTrial(const Reader& r, const YAML::Node& n, const ConfigNames& names, TrialResources* t) {
  PS_RETURN_IF_ERROR(config::ReadSection(r, n, "trial", TrialFields(names), t));
  if (t->hang_timeout_seconds < 2 * t->heartbeat_seconds) {
    return r.Error(n["hang_timeout_seconds"] ? n["hang_timeout_seconds"] : n, "trial.hang_timeout_seconds",
                   "must be at least twice trial.heartbeat_seconds");
  }
  return Status::Ok();
}

Status ParseTraining(const Reader& r, const YAML::Node& n, SweepConfig* c) {
  TrainingParams* p = &c->training;
  std::set<std::string> allowed(KnownHyperparameters().begin(), KnownHyperparameters().end());
  PS_RETURN_IF_ERROR(r.CheckMap(n, "training", allowed));
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    c->lines["training." + key] = Reader::Line(kv.second);
    if (!kv.second.IsScalar()) return r.Error(kv.second, "training." + key, "expected a scalar value");
    Status s = ApplyHyperparameter(p, key, ParamValue::Parse(kv.second.Scalar()));
    if (!s.ok()) return r.Error(kv.second, "training." + key, s.message());
  }
  return Status::Ok();
}

// metric.mode, read into `maximize`.
Field<MetricConfig> Mode() {
  return {"mode", [](const Reader& r, const YAML::Node& n, const std::string& p, MetricConfig* m) {
            std::string mode;
            PS_RETURN_IF_ERROR(r.Word(n, p, {"max", "min"}, &mode));
            m->maximize = mode == "max";
            return Status::Ok();
          }};
}

// metric.name; it sets the mode's default (metric.mode, read after it, overrides).
Field<MetricConfig> MetricName() {
  return {"name", [](const Reader& r, const YAML::Node& n, const std::string& p, MetricConfig* m) {
            static const std::set<std::string> kNames = {"accuracy", "macro_f1", "valid_loss", "language_f1",
                                                         "language_accuracy", "f1", "precision", "recall",
                                                         "rmse", "mae", "pearson", "spearman", "micro_f1"};
            PS_RETURN_IF_ERROR(r.String(n, p, &m->name));
            if (!kNames.count(m->name)) {
              return r.Error(n, p, "unknown metric \"" + m->name +
                                       "\" (accuracy, macro_f1, valid_loss, language_f1, language_accuracy; "
                                       "f1, precision, recall of entity spans; rmse, mae, pearson, spearman of "
                                       "regression; micro_f1 of multi-label)");
            }
            m->maximize = !LowerIsBetter(m->name);
            return Status::Ok();
          }};
}

Status ParseMetric(const Reader& r, const YAML::Node& n, const SweepConfig& c, MetricConfig* m) {
  using M = MetricConfig;
  static const std::vector<Field<M>> fields = {
      MetricName(),
      config::Text<M>("over", &M::over),
      config::Number<M>("min_language_f1", &M::min_language_f1, 0, 1),
      Mode(),
  };
  PS_RETURN_IF_ERROR(config::ReadSection(r, n, "metric", fields, m));
  const bool per_language = m->name == "language_f1" || m->name == "language_accuracy";
  if (n["over"]) {
    if (!per_language) return r.Error(n["over"], "metric.over", "only for language_f1 and language_accuracy, not " + m->name);
    if (m->over.empty()) return r.Error(n["over"], "metric.over", "expected macro, worst or a language code");
    if (m->over != "macro" && m->over != "worst" && !IsKnownLanguage(m->over, c.data.extra_languages)) {
      return r.Error(n["over"], "metric.over", "expected macro, worst or a language code, got \"" + m->over + "\"");
    }
  } else if (per_language) {
    return r.Error(n, "metric.over", "required for " + m->name + ": macro, worst or a language code");
  }
  return Status::Ok();
}

Status ParseScheduler(const Reader& r, const YAML::Node& n, const std::vector<KindName<SchedulerKind>>& kinds,
                      SchedulerConfig* s) {
  using S = SchedulerConfig;
  static const std::vector<KindName<BudgetUnit>> kUnits = {{"steps", BudgetUnit::kSteps},
                                                            {"epochs", BudgetUnit::kEpochs}};
  // grace counts the unit (read before it): whole steps, or epochs.
  const Field<S> grace = {"grace", [](const Reader& r, const YAML::Node& g, const std::string& p, S* s) {
                            if (s->unit == BudgetUnit::kEpochs) return r.Number(g, p, &s->grace_epochs, 1e-3, 1e6);
                            return r.Integer(g, p, &s->grace, 1, 1e12);
                          }};
  const std::vector<Field<S>> fields = {
      config::Named<S, SchedulerKind>("type", &S::kind, kinds),
      config::Named<S, BudgetUnit>("unit", &S::unit, kUnits),
      grace,
      config::Number<S>("reduction_factor", &S::reduction_factor, 1.5, 100),
      config::Integer<S>("brackets", &S::brackets, 1, 10),
      config::Integer<S>("min_trials", &S::min_trials, 1, 1000),
      config::Flag<S>("promote_in_place", &S::promote_in_place),
  };
  return config::ReadSection(r, n, "scheduler", fields, s);
}

Status ParseBudget(const Reader& r, const YAML::Node& n, BudgetConfig* b) {
  using B = BudgetConfig;
  static const std::vector<Field<B>> fields = {
      config::Integer<B>("max_trials", &B::max_trials, 1, 1e6),
      config::Integer<B>("max_steps", &B::max_steps, 1, 1e12),
      config::Number<B>("epochs", &B::epochs, 0.001, 1e6),
      config::Integer<B>("eval_every", &B::eval_every, 0, 1e12),
      config::Integer<B>("log_every", &B::log_every, 1, 1e12),
      config::Integer<B>("test_top_k", &B::test_top_k, 0, 1000),
  };
  PS_RETURN_IF_ERROR(config::ReadSection(r, n, "budget", fields, b));
  if (b->max_steps > 0 && b->epochs > 0) return r.Error(n, "budget", "set one of max_steps and epochs, not both");
  return Status::Ok();
}

// A trial's length: budget.max_steps, budget.epochs, or epochs as a
// hyperparameter (fixed in training or searched), exactly one of them.
Status CheckEpochs(const Reader& r, const YAML::Node& root, const SweepConfig& c) {
  const ParamSpec* searched = nullptr;
  for (const ParamSpec& p : c.search.space.params) {
    if (p.name == "epochs") searched = &p;
  }
  const bool fixed = root["training"] && root["training"]["epochs"];
  if (!searched && !fixed) {
    if (c.budget.max_steps > 0 || c.budget.epochs > 0) return Status::Ok();
    return r.Error(root["budget"], "budget",
                   "set one of max_steps and epochs (or make epochs a hyperparameter: training.epochs or "
                   "search.space.epochs)");
  }
  const std::string key = searched ? "search.space.epochs" : "training.epochs";
  const YAML::Node at = searched ? root["search"]["space"]["epochs"] : root["training"]["epochs"];
  if (c.budget.max_steps > 0) {
    return r.Error(at, key, "a trial's epochs need a budget in epochs, and budget.max_steps counts steps: "
                            "remove budget.max_steps");
  }
  if (c.budget.epochs > 0) return r.Error(at, key, "budget.epochs also sets every trial's epochs: keep one of them");
  if (fixed && !searched && c.training.epochs <= 0) return r.Error(at, key, "must be > 0");
  if (searched) {
    const bool positive = searched->kind == ParamKind::kChoice
                              ? std::all_of(searched->choices.begin(), searched->choices.end(),
                                            [](const ParamValue& v) { return !v.is_text && v.number > 0; })
                              : searched->low > 0;
    if (!positive) return r.Error(at, key, "every value must be > 0 (epochs of training)");
    if (!searched->when_param.empty() && !(c.training.epochs > 0)) {
      return r.Error(at, key, "searched conditionally: training.epochs must give the trials that do not search it");
    }
  }
  return Status::Ok();
}

Status ParseSecurity(const Reader& r, const YAML::Node& n, SecurityConfig* s) {
  using S = SecurityConfig;
  static const std::vector<Field<S>> fields = {
      config::OneOf<S>("curve", &S::curve, {"auto", "on", "off"}),
      config::Text<S>("keys_dir", &S::keys_dir),
  };
  return config::ReadSection(r, n, "security", fields, s);
}

// Multi-label classification reads a list of labels per text, from the
// field "labels" unless data.label_field names another; a separator is
// only for the tasks that read one.
Status CheckMultiLabel(const Reader& r, const YAML::Node& root, const TaskInfo& task, DataConfig* data) {
  data->multi_label = task.label == LabelKind::kMultiHot;
  const YAML::Node d = root["data"];
  if (data->multi_label && !(d && d["label_field"])) data->label_field = "labels";
  if (d && d["label_separator"]) {
    if (!data->multi_label) {
      return r.Error(d["label_separator"], "data.label_separator",
                     "only for model.task multi_label_classification (a TSV cell of labels)");
    }
    if (data->label_separator.empty() || data->label_separator.find_first_of("\t\n") != std::string::npos) {
      return r.Error(d["label_separator"], "data.label_separator", "must be non-empty, without tabs or newlines");
    }
  }
  return Status::Ok();
}

// A task that reads no labels (masked_lm) takes the data's text only (no
// label field, no label set); a task's metric family (common/tasks.h) says
// which objectives it defines, and its default metric serves when the
// config names none.
Status CheckTaskMetric(const Reader& r, const YAML::Node& root, SweepConfig* c) {
  const TaskInfo& task = Task(ParseTaskKind(c->model.task).value());  // checked by ParseModel
  const std::string in_task = std::string(" for model.task ") + task.name;
  if (task.label == LabelKind::kMaskedTokens) {
    if (!c->data.labels.empty()) {
      return r.Error(root["data"]["labels"], "data.labels", "model.task " + std::string(task.name) +
                                                                " reads no labels; remove data.labels");
    }
    c->data.label_field.clear();
  }
  c->data.tagged = task.label == LabelKind::kTokenClassIds;
  c->data.real_labels = task.label == LabelKind::kRealValue;
  PS_RETURN_IF_ERROR(CheckMultiLabel(r, root, task, &c->data));
  if (c->data.real_labels && !c->data.labels.empty()) {
    return r.Error(root["data"]["labels"], "data.labels", "model.task regression reads a number per text, not labels");
  }
  if (c->data.tagged && c->data.format == "tsv") {
    return r.Error(root["data"]["format"], "data.format",
                   "model.task token_classification reads CoNLL column files (conll) or JSONL with a tokens and a "
                   "tags array, not tsv");
  }
  if (!c->data.tagged && c->data.format == "conll") {
    return r.Error(root["data"]["format"], "data.format",
                   "conll files tag words: they need model.task token_classification");
  }
  if (!task.pair && !c->data.text_pair_field.empty()) {
    return r.Error(root["data"]["text_pair_field"], "data.text_pair_field",
                   "model.task " + std::string(task.name) + " reads single texts; remove data.text_pair_field");
  }
  const bool plain_tags = task.metrics == MetricFamily::kTokenTags && c->data.tag_scheme == TagScheme::kPlain;
  if (!root["metric"] || !root["metric"]["name"]) {
    const std::string metric = plain_tags ? "accuracy" : task.default_metric;
    if (c->metric.name != metric) c->metric = MetricConfig{metric, "", !LowerIsBetter(metric), 0};
    c->data.needs_spans = c->data.tagged && IsSpanMetric(c->metric.name);
    return Status::Ok();
  }
  c->data.needs_spans = c->data.tagged && (IsSpanMetric(c->metric.name) || c->metric.min_language_f1 > 0);
  const std::vector<std::string> defined = ObjectiveMetrics(task.metrics);
  const std::string& name = c->metric.name;
  if (std::find(defined.begin(), defined.end(), name) == defined.end()) {
    std::string list;
    for (const std::string& m : defined) list += (list.empty() ? "" : ", ") + m;
    return r.Error(root["metric"]["name"], "metric.name", name + " is not defined" + in_task + " (" + list + ")");
  }
  if (plain_tags && IsSpanMetric(name)) {
    return r.Error(root["metric"]["name"], "metric.name",
                   name + " counts entity spans, which data.tag_scheme none has not (accuracy, valid_loss, "
                          "language_accuracy)");
  }
  const bool has_f1 = task.metrics == MetricFamily::kClassification || task.metrics == MetricFamily::kMultiLabel ||
                      (task.metrics == MetricFamily::kTokenTags && !plain_tags);
  if (c->metric.min_language_f1 > 0 && !has_f1) {
    return r.Error(root["metric"]["min_language_f1"], "metric.min_language_f1",
                   "not defined" + in_task + (plain_tags ? " with data.tag_scheme none" : "") + " (no F1 is computed)");
  }
  return Status::Ok();
}

// Early stopping counts evaluations: it needs some.
Status CheckEarlyStopping(const Reader& r, const YAML::Node& root, const SweepConfig& c) {
  if (c.budget.eval_every != 0) return Status::Ok();
  const bool searched = std::any_of(c.search.space.params.begin(), c.search.space.params.end(),
                                    [](const ParamSpec& p) { return p.name == "early_stopping_patience"; });
  if (c.training.early_stopping_patience == 0 && !searched) return Status::Ok();
  const YAML::Node at = searched ? root["search"]["space"]["early_stopping_patience"]
                                 : root["training"]["early_stopping_patience"];
  return r.Error(at, searched ? "search.space.early_stopping_patience" : "training.early_stopping_patience",
                 "needs budget.eval_every > 0 (it counts evaluations without a better score)");
}

// scheduler.unit: epochs: a budget in epochs, a grace (default 1 epoch)
// below the longest trial.
Status CheckEpochGrace(const Reader& r, const YAML::Node& root, SweepConfig* c) {
  SchedulerConfig& s = c->scheduler;
  const YAML::Node n = root["scheduler"];
  if (c->budget.max_steps > 0) {
    return r.Error(n["unit"], "scheduler.unit",
                   "epochs needs a budget in epochs, and budget.max_steps counts steps: use budget.epochs, or unit: "
                   "steps");
  }
  if (s.grace_epochs == 0) s.grace_epochs = 1;
  if (s.kind == SchedulerKind::kFifo) return Status::Ok();
  const double most = MostEpochs(*c);
  if (s.grace_epochs >= most) {
    const bool given = static_cast<bool>(n["grace"]);
    std::ostringstream msg;
    msg << s.grace_epochs << (given ? "" : " (1 epoch, its default)") << " is not below the longest trial's " << most
        << " epochs: every trial would train its full budget before the first decision; lower it, or use type: fifo";
    return r.Error(given ? n["grace"] : n, "scheduler.grace", msg.str());
  }
  return Status::Ok();
}

// scheduler.unit: steps: a grace (default budget.eval_every) below budget.max_steps.
Status CheckStepGrace(const Reader& r, const YAML::Node& root, SweepConfig* c) {
  SchedulerConfig& s = c->scheduler;
  const YAML::Node n = root["scheduler"];
  if (s.grace == 0) s.grace = c->budget.eval_every;
  if (s.kind == SchedulerKind::kFifo) return Status::Ok();
  if (s.grace == 0) {
    return r.Error(n, "scheduler.grace", "required (steps before the first decision) when budget.eval_every is 0");
  }
  // With epochs the step budget is known only once the data is sharded.
  if (c->budget.max_steps > 0 && s.grace >= c->budget.max_steps) {
    const bool given = static_cast<bool>(n["grace"]);
    return r.Error(given ? n["grace"] : n, "scheduler.grace",
                   std::to_string(s.grace) + (given ? "" : " (budget.eval_every, its default)") +
                       " is not below budget.max_steps (" + std::to_string(c->budget.max_steps) +
                       "): every trial would train its full budget before the first decision; lower it, or use "
                       "type: fifo");
  }
  return Status::Ok();
}

// The scheduler's grace against the budget, and what synthetic trials allow.
Status CheckScheduler(const Reader& r, const YAML::Node& root, SweepConfig* c) {
  const SchedulerConfig& s = c->scheduler;
  PS_RETURN_IF_ERROR(s.unit == BudgetUnit::kEpochs ? CheckEpochGrace(r, root, c) : CheckStepGrace(r, root, c));
  if (s.kind != SchedulerKind::kFifo && c->trial.synthetic_step_ms > 0) {
    return r.Error(root["scheduler"], "scheduler.type",
                   "synthetic trials (trial.synthetic_step_ms) keep no checkpoints to pause and resume at; use fifo");
  }
  return Status::Ok();
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 100) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return s != "." && s != "..";
}

StatusOr<YAML::Node> LoadYaml(const std::string& yaml_text, const std::string& path) {
  if (size_t bad = FindInvalidUtf8(yaml_text); bad != std::string::npos) {
    const size_t line = 1 + static_cast<size_t>(std::count(yaml_text.begin(), yaml_text.begin() + static_cast<long>(bad), '\n'));
    const size_t line_start = yaml_text.rfind('\n', bad == 0 ? 0 : bad - 1);
    const size_t column = bad - (line_start == std::string::npos || bad == 0 ? 0 : line_start + 1) + 1;
    return Status::InvalidConfig(path + ":" + std::to_string(line) + ": invalid UTF-8 at byte " +
                                 std::to_string(column) + " of the line");
  }
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsMap()) return Status::InvalidConfig(path + ":1: expected a mapping of keys (name, data, search, budget, ...)");
    return root;
  } catch (const YAML::Exception& e) {
    return Status::InvalidConfig(path + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
}

// The top level's own keys: name, output_dir, bind, max_concurrent.
Status ParseTop(const Reader& r, const YAML::Node& root, SweepConfig* c) {
  PS_RETURN_IF_ERROR(r.CheckMap(root, "", {"name", "output_dir", "bind", "max_concurrent", "data", "model", "trial",
                                           "training", "search", "metric", "scheduler", "budget", "security"}));
  for (const char* k : {"name", "data", "search", "budget"}) {
    if (!root[k]) return r.Error(root, k, "required key is missing");
  }
  PS_RETURN_IF_ERROR(r.String(root["name"], "name", &c->name));
  if (!ValidName(c->name)) return r.Error(root["name"], "name", "use letters, digits, '-', '_' or '.'");
  c->output_dir = "runs/" + c->name;
  if (root["output_dir"]) PS_RETURN_IF_ERROR(r.String(root["output_dir"], "output_dir", &c->output_dir));
  if (root["bind"]) PS_RETURN_IF_ERROR(r.String(root["bind"], "bind", &c->bind));
  if (root["max_concurrent"]) {
    PS_RETURN_IF_ERROR(r.Integer(root["max_concurrent"], "max_concurrent", &c->max_concurrent, 1, 10000));
  }
  return Status::Ok();
}

}  // namespace

bool IsLoopbackEndpoint(const std::string& e) {
  if (e.rfind("ipc://", 0) == 0 || e.rfind("inproc://", 0) == 0) return true;
  for (const char* p : {"tcp://127.", "tcp://localhost:", "tcp://[::1]:"}) {
    if (e.rfind(p, 0) == 0) return true;
  }
  return false;
}

StatusOr<SweepConfig> ParseSweepConfig(const std::string& yaml_text, const std::string& path,
                                       const ConfigNames& names) {
  auto loaded = LoadYaml(yaml_text, path);
  if (!loaded.ok()) return loaded.status();
  const YAML::Node& root = *loaded;
  const Reader r(path);
  SweepConfig c;
  c.source_path = path;
  c.source_text = yaml_text;
  PS_RETURN_IF_ERROR(ParseTop(r, root, &c));
  PS_RETURN_IF_ERROR(ParseData(r, root["data"], &c));
  if (c.data.shard_dir.empty()) c.data.shard_dir = c.output_dir + "/data";
  if (root["model"]) PS_RETURN_IF_ERROR(ParseModel(r, root["model"], &c));
  if (root["trial"]) PS_RETURN_IF_ERROR(ParseTrial(r, root["trial"], names, &c.trial));
  if (root["training"]) PS_RETURN_IF_ERROR(ParseTraining(r, root["training"], &c));
  PS_RETURN_IF_ERROR(config::ParseSearch(r, root["search"], names.search_algorithms, &c.search));
  PS_RETURN_IF_ERROR(config::CheckAgainstModel(r, root, c));
  if (root["metric"]) PS_RETURN_IF_ERROR(ParseMetric(r, root["metric"], c, &c.metric));
  PS_RETURN_IF_ERROR(CheckTaskMetric(r, root, &c));
  PS_RETURN_IF_ERROR(ParseBudget(r, root["budget"], &c.budget));
  PS_RETURN_IF_ERROR(CheckEpochs(r, root, c));
  PS_RETURN_IF_ERROR(CheckEarlyStopping(r, root, c));
  if (root["scheduler"]) {
    PS_RETURN_IF_ERROR(ParseScheduler(r, root["scheduler"], names.schedulers, &c.scheduler));
    PS_RETURN_IF_ERROR(CheckScheduler(r, root, &c));
  }
  if (root["security"]) PS_RETURN_IF_ERROR(ParseSecurity(r, root["security"], &c.security));
  if (c.security.keys_dir.empty()) c.security.keys_dir = c.output_dir + "/keys";
  return c;
}

double MostEpochs(const SweepConfig& c) {
  double most = std::max(c.budget.epochs, c.training.epochs);
  for (const ParamSpec& p : c.search.space.params) {
    if (p.name != "epochs") continue;
    most = std::max(most, p.high);
    for (const ParamValue& v : p.choices) most = std::max(most, v.is_text ? 0 : v.number);
  }
  return most;
}

int ResolvedThreadsPerRank(const SweepConfig& config, int cpus) {
  if (config.trial.threads_per_rank > 0) return config.trial.threads_per_rank;
  return std::max(1, cpus / std::max(1, config.trial.ranks * config.max_concurrent));
}

StatusOr<SweepConfig> LoadSweepConfig(const std::string& path, const ConfigNames& names) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  auto config = ParseSweepConfig(ss.str(), path, names);
  if (!config.ok()) return config.status();
  PS_RETURN_IF_ERROR(CheckConfigFiles(&*config));
  return config;
}

}  // namespace polysweep
