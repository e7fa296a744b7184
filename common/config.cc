#include "common/config.h"

#include <sched.h>

#include <algorithm>
#include <cctype>

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "common/env.h"
#include "common/example.h"
#include "common/languages.h"
#include "common/model_package.h"

namespace polysweep {
namespace {

// Walks a YAML tree and reports errors as "FILE:LINE: key.path: what".
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Status Error(const YAML::Node& node, const std::string& path, const std::string& what) const {
    std::string where = file_;
    if (node.IsDefined() && node.Mark().line >= 0) where += ":" + std::to_string(node.Mark().line + 1);
    return Status::Error(where + ": " + path + ": " + what);
  }

  // Requires a mapping whose keys are all in `allowed` and none repeated.
  Status CheckMap(const YAML::Node& node, const std::string& path,
                  const std::set<std::string>& allowed) const {
    if (!node.IsMap()) return Error(node, path, "expected a mapping of keys");
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      const std::string key_path = path.empty() ? key : path + "." + key;
      if (!seen.insert(key).second) return Error(kv.first, key_path, "duplicate key");
      if (!allowed.empty() && !allowed.count(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        return Error(kv.first, key_path, "unknown key (allowed here: " + list + ")");
      }
    }
    return Status::Ok();
  }

  Status String(const YAML::Node& node, const std::string& path, std::string* out) const {
    if (!node.IsScalar()) return Error(node, path, "expected a string");
    *out = node.Scalar();
    return Status::Ok();
  }

  Status Number(const YAML::Node& node, const std::string& path, double* out, double min,
                double max) const {
    if (!node.IsScalar()) return Error(node, path, "expected a number");
    double v;
    try {
      v = node.as<double>();
    } catch (const YAML::Exception&) {
      return Error(node, path, "expected a number, got \"" + node.Scalar() + "\"");
    }
    if (!std::isfinite(v)) return Error(node, path, "expected a finite number");
    if (v < min || v > max) {
      return Error(node, path, "value " + node.Scalar() + " is out of range [" +
                                   ParamValue::Number(min).ToString() + ", " +
                                   ParamValue::Number(max).ToString() + "]");
    }
    *out = v;
    return Status::Ok();
  }

  template <typename Int>
  Status Integer(const YAML::Node& node, const std::string& path, Int* out, double min,
                 double max) const {
    double v;
    PS_RETURN_IF_ERROR(Number(node, path, &v, min, max));
    if (std::nearbyint(v) != v) return Error(node, path, "expected an integer, got " + node.Scalar());
    *out = static_cast<Int>(v);
    return Status::Ok();
  }

  Status Bool(const YAML::Node& node, const std::string& path, bool* out) const {
    if (!node.IsScalar() || (node.Scalar() != "true" && node.Scalar() != "false")) {
      return Error(node, path, "expected true or false" + (node.IsScalar() ? ", got \"" + node.Scalar() + "\"" : ""));
    }
    *out = node.Scalar() == "true";
    return Status::Ok();
  }

  Status StringList(const YAML::Node& node, const std::string& path,
                    std::vector<std::string>* out) const {
    if (!node.IsSequence()) return Error(node, path, "expected a list of strings");
    out->clear();
    for (size_t i = 0; i < node.size(); ++i) {
      std::string s;
      PS_RETURN_IF_ERROR(String(node[i], path + "[" + std::to_string(i) + "]", &s));
      out->push_back(s);
    }
    return Status::Ok();
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

Status ParseData(const Reader& r, const YAML::Node& n, DataConfig* d) {
  PS_RETURN_IF_ERROR(r.CheckMap(n, "data",
                                {"files", "format", "text_field", "label_field", "lang_field",
                                 "group_field", "languages", "max_per_language",
                                 "valid_fraction", "test_fraction", "vocab_size",
                                 "max_bad_lines", "max_line_bytes", "labels", "extra_languages",
                                 "tokenizer", "tokenizer_type", "max_tokens", "sampling_alpha",
                                 "shard_dir", "threads"}));
  if (!n["files"]) return r.Error(n, "data.files", "required: a list of JSONL files");
  PS_RETURN_IF_ERROR(r.StringList(n["files"], "data.files", &d->files));
  if (d->files.empty()) return r.Error(n["files"], "data.files", "needs at least one file");
  for (size_t i = 0; i < d->files.size(); ++i) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(d->files[i], ec)) {
      return r.Error(n["files"][i], "data.files[" + std::to_string(i) + "]",
                     "no such file: " + d->files[i]);
    }
  }
  if (n["text_field"]) PS_RETURN_IF_ERROR(r.String(n["text_field"], "data.text_field", &d->text_field));
  if (n["label_field"]) PS_RETURN_IF_ERROR(r.String(n["label_field"], "data.label_field", &d->label_field));
  if (n["lang_field"]) PS_RETURN_IF_ERROR(r.String(n["lang_field"], "data.lang_field", &d->lang_field));
  if (n["group_field"]) PS_RETURN_IF_ERROR(r.String(n["group_field"], "data.group_field", &d->group_field));
  if (n["languages"]) PS_RETURN_IF_ERROR(r.StringList(n["languages"], "data.languages", &d->languages));
  if (n["max_per_language"])
    PS_RETURN_IF_ERROR(r.Integer(n["max_per_language"], "data.max_per_language", &d->max_per_language, 0, 1e12));
  if (n["valid_fraction"])
    PS_RETURN_IF_ERROR(r.Number(n["valid_fraction"], "data.valid_fraction", &d->valid_fraction, 0.001, 0.5));
  if (n["test_fraction"])
    PS_RETURN_IF_ERROR(r.Number(n["test_fraction"], "data.test_fraction", &d->test_fraction, 0, 0.5));
  if (n["vocab_size"])
    PS_RETURN_IF_ERROR(r.Integer(n["vocab_size"], "data.vocab_size", &d->vocab_size, 100, 1000000));
  if (n["max_bad_lines"])
    PS_RETURN_IF_ERROR(r.Integer(n["max_bad_lines"], "data.max_bad_lines", &d->max_bad_lines, 0, 1e12));
  if (n["max_line_bytes"])
    PS_RETURN_IF_ERROR(r.Integer(n["max_line_bytes"], "data.max_line_bytes", &d->max_line_bytes, 64, 1 << 30));
  if (n["format"]) {
    PS_RETURN_IF_ERROR(r.String(n["format"], "data.format", &d->format));
    if (d->format != "auto" && d->format != "jsonl" && d->format != "tsv")
      return r.Error(n["format"], "data.format", "expected auto, jsonl or tsv, got \"" + d->format + "\"");
  }
  if (n["labels"]) PS_RETURN_IF_ERROR(r.StringList(n["labels"], "data.labels", &d->labels));
  if (n["extra_languages"]) PS_RETURN_IF_ERROR(r.StringList(n["extra_languages"], "data.extra_languages", &d->extra_languages));
  if (n["tokenizer"]) {
    PS_RETURN_IF_ERROR(r.String(n["tokenizer"], "data.tokenizer", &d->tokenizer));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(d->tokenizer, ec))
      return r.Error(n["tokenizer"], "data.tokenizer", "no such file: " + d->tokenizer);
  }
  if (n["tokenizer_type"]) {
    PS_RETURN_IF_ERROR(r.String(n["tokenizer_type"], "data.tokenizer_type", &d->tokenizer_type));
    if (d->tokenizer_type != "unigram" && d->tokenizer_type != "bpe")
      return r.Error(n["tokenizer_type"], "data.tokenizer_type", "expected unigram or bpe");
  }
  if (n["max_tokens"]) PS_RETURN_IF_ERROR(r.Integer(n["max_tokens"], "data.max_tokens", &d->max_tokens, 1, 1 << 20));
  if (n["sampling_alpha"])
    PS_RETURN_IF_ERROR(r.Number(n["sampling_alpha"], "data.sampling_alpha", &d->sampling_alpha, 0, 1));
  if (n["shard_dir"]) PS_RETURN_IF_ERROR(r.String(n["shard_dir"], "data.shard_dir", &d->shard_dir));
  if (n["threads"]) PS_RETURN_IF_ERROR(r.Integer(n["threads"], "data.threads", &d->threads, 0, 1024));
  return Status::Ok();
}

Status ParseModel(const Reader& r, const YAML::Node& n, ModelConfig* m) {
  PS_RETURN_IF_ERROR(r.CheckMap(n, "model", {"layers", "hidden", "heads", "ffn", "max_length", "init", "task"}));
  if (n["task"]) {
    PS_RETURN_IF_ERROR(r.String(n["task"], "model.task", &m->task));
    if (m->task == "token_classification") {
      return r.Error(n["task"], "model.task",
                     "token_classification needs a label per token, which polysweep's data files do not carry yet "
                     "(sequence_classification or masked_lm)");
    }
    if (m->task != "sequence_classification" && m->task != "masked_lm") {
      return r.Error(n["task"], "model.task", "expected sequence_classification or masked_lm, got \"" + m->task + "\"");
    }
  }
  if (n["init"]) {
    PS_RETURN_IF_ERROR(r.String(n["init"], "model.init", &m->init));
    std::error_code ec;
    if (!std::filesystem::exists(m->init, ec)) return r.Error(n["init"], "model.init", "no such file or directory: " + m->init);
    m->init = std::filesystem::absolute(m->init).lexically_normal().string();
  }
  if (n["layers"]) PS_RETURN_IF_ERROR(r.Integer(n["layers"], "model.layers", &m->layers, 1, 48));
  if (n["hidden"]) PS_RETURN_IF_ERROR(r.Integer(n["hidden"], "model.hidden", &m->hidden, 8, 8192));
  if (n["heads"]) PS_RETURN_IF_ERROR(r.Integer(n["heads"], "model.heads", &m->heads, 1, 128));
  if (n["ffn"]) PS_RETURN_IF_ERROR(r.Integer(n["ffn"], "model.ffn", &m->ffn, 8, 65536));
  if (n["max_length"]) PS_RETURN_IF_ERROR(r.Integer(n["max_length"], "model.max_length", &m->max_length, 4, 8192));
  if (m->hidden % m->heads != 0) {
    return r.Error(n["heads"] ? n["heads"] : n, "model.heads",
                   "model.hidden (" + std::to_string(m->hidden) + ") must be divisible by heads (" +
                       std::to_string(m->heads) + ")");
  }
  return Status::Ok();
}

// model.init naming a model directory: its architecture must be the
// configured one, and its tokenizer encodes the data unless data.tokenizer
// names another.
Status CheckInitModel(const Reader& r, const YAML::Node& root, SweepConfig* c) {
  std::error_code ec;
  if (c->model.init.empty() || !std::filesystem::is_directory(c->model.init, ec)) return Status::Ok();
  const YAML::Node at = root["model"]["init"];
  auto package = LoadModelPackage(c->model.init);
  if (!package.ok()) return r.Error(at, "model.init", package.status().message());
  for (auto [key, theirs, ours] : {std::tuple{"layers", package->layers, c->model.layers},
                                   std::tuple{"hidden", package->hidden, c->model.hidden},
                                   std::tuple{"heads", package->heads, c->model.heads},
                                   std::tuple{"ffn", package->ffn, c->model.ffn}}) {
    if (theirs != ours) {
      return r.Error(at, "model.init", c->model.init + " has " + key + " " + std::to_string(theirs) + ", model." + key +
                                           " is " + std::to_string(ours) + ": set the same architecture");
    }
  }
  if (package->max_length < c->model.max_length) {
    return r.Error(at, "model.init", c->model.init + " has max_length " + std::to_string(package->max_length) +
                                         ", less than model.max_length " + std::to_string(c->model.max_length));
  }
  if (c->data.tokenizer.empty()) c->data.tokenizer = c->model.init + "/" + package->tokenizer_file;
  return Status::Ok();
}

// model.task masked_lm: the data's text only (no label field, no label
// set), scored by masked-token accuracy or loss (no F1), accuracy unless
// the config names a metric.
Status CheckMaskedLm(const Reader& r, const YAML::Node& root, SweepConfig* c) {
  if (c->model.task != "masked_lm") return Status::Ok();
  if (!c->data.labels.empty()) {
    return r.Error(root["data"]["labels"], "data.labels", "model.task masked_lm reads no labels; remove data.labels");
  }
  c->data.label_field.clear();
  if (!root["metric"] || !root["metric"]["name"]) {
    c->metric = MetricConfig{"accuracy", "", true, 0};
    return Status::Ok();
  }
  const std::string& name = c->metric.name;
  if (name == "macro_f1" || name == "language_f1") {
    return r.Error(root["metric"]["name"], "metric.name",
                   name + " is not defined for model.task masked_lm (accuracy, valid_loss or language_accuracy: "
                          "of the masked tokens)");
  }
  if (c->metric.min_language_f1 > 0) {
    return r.Error(root["metric"]["min_language_f1"], "metric.min_language_f1",
                   "not defined for model.task masked_lm (no F1 is computed)");
  }
  return Status::Ok();
}

Status ParseTrial(const Reader& r, const YAML::Node& n, TrialResources* t) {
  PS_RETURN_IF_ERROR(r.CheckMap(n, "trial", {"ranks", "threads_per_rank", "backend", "max_restarts",
                                             "checkpoint_every", "checkpoint_every_seconds", "keep_checkpoints", "keep_best_checkpoints",
                                             "heartbeat_seconds", "hang_timeout_seconds", "start_timeout_seconds",
                                             "coordinator_timeout_seconds", "launcher", "slurm_args",
                                             "synthetic_step_ms", "bucket_mb", "first_bucket_mb", "overlap",
                                             "collective_timeout_seconds"}));
  if (n["bucket_mb"]) PS_RETURN_IF_ERROR(r.Number(n["bucket_mb"], "trial.bucket_mb", &t->bucket_mb, 0.001, 4096));
  if (n["first_bucket_mb"])
    PS_RETURN_IF_ERROR(r.Number(n["first_bucket_mb"], "trial.first_bucket_mb", &t->first_bucket_mb, 0.001, 4096));
  if (n["overlap"]) PS_RETURN_IF_ERROR(r.Bool(n["overlap"], "trial.overlap", &t->overlap));
  if (n["collective_timeout_seconds"])
    PS_RETURN_IF_ERROR(r.Number(n["collective_timeout_seconds"], "trial.collective_timeout_seconds",
                                &t->collective_timeout_seconds, 0.1, 1e6));
  if (n["launcher"]) {
    PS_RETURN_IF_ERROR(r.String(n["launcher"], "trial.launcher", &t->launcher));
    if (t->launcher != "auto" && t->launcher != "mpirun" && t->launcher != "srun" && t->launcher != "sbatch" &&
        t->launcher != "agents")
      return r.Error(n["launcher"], "trial.launcher", "expected auto, mpirun, srun, sbatch or agents, got \"" + t->launcher + "\"");
  }
  if (n["synthetic_step_ms"])
    PS_RETURN_IF_ERROR(r.Number(n["synthetic_step_ms"], "trial.synthetic_step_ms", &t->synthetic_step_ms, 0, 1e6));
  if (n["slurm_args"]) PS_RETURN_IF_ERROR(r.StringList(n["slurm_args"], "trial.slurm_args", &t->slurm_args));
  if (n["coordinator_timeout_seconds"])
    PS_RETURN_IF_ERROR(r.Number(n["coordinator_timeout_seconds"], "trial.coordinator_timeout_seconds",
                                &t->coordinator_timeout_seconds, 1, 1e6));
  if (n["start_timeout_seconds"])
    PS_RETURN_IF_ERROR(r.Number(n["start_timeout_seconds"], "trial.start_timeout_seconds", &t->start_timeout_seconds, 1, 1e6));
  if (n["heartbeat_seconds"])
    PS_RETURN_IF_ERROR(r.Number(n["heartbeat_seconds"], "trial.heartbeat_seconds", &t->heartbeat_seconds, 0.05, 3600));
  if (n["hang_timeout_seconds"])
    PS_RETURN_IF_ERROR(r.Number(n["hang_timeout_seconds"], "trial.hang_timeout_seconds", &t->hang_timeout_seconds, 0.1, 1e6));
  if (t->hang_timeout_seconds < 2 * t->heartbeat_seconds) {
    return r.Error(n["hang_timeout_seconds"] ? n["hang_timeout_seconds"] : n, "trial.hang_timeout_seconds",
                   "must be at least twice trial.heartbeat_seconds");
  }
  if (n["max_restarts"]) PS_RETURN_IF_ERROR(r.Integer(n["max_restarts"], "trial.max_restarts", &t->max_restarts, 0, 1000));
  if (n["checkpoint_every"])
    PS_RETURN_IF_ERROR(r.Integer(n["checkpoint_every"], "trial.checkpoint_every", &t->checkpoint_every, 0, 1e12));
  if (n["checkpoint_every_seconds"])
    PS_RETURN_IF_ERROR(r.Number(n["checkpoint_every_seconds"], "trial.checkpoint_every_seconds",
                                &t->checkpoint_every_seconds, 0, 1e9));
  if (n["keep_best_checkpoints"])
    PS_RETURN_IF_ERROR(r.Integer(n["keep_best_checkpoints"], "trial.keep_best_checkpoints", &t->keep_best_checkpoints, 0, 1000));
  if (n["keep_checkpoints"])
    PS_RETURN_IF_ERROR(r.Integer(n["keep_checkpoints"], "trial.keep_checkpoints", &t->keep_checkpoints, 1, 1000));
  if (n["ranks"]) PS_RETURN_IF_ERROR(r.Integer(n["ranks"], "trial.ranks", &t->ranks, 1, 4096));
  if (n["threads_per_rank"]) {
    if (n["threads_per_rank"].IsScalar() && n["threads_per_rank"].Scalar() == "auto") {
      t->threads_per_rank = 0;
    } else {
      PS_RETURN_IF_ERROR(r.Integer(n["threads_per_rank"], "trial.threads_per_rank", &t->threads_per_rank, 1, 256));
    }
  }
  if (n["backend"]) {
    PS_RETURN_IF_ERROR(r.String(n["backend"], "trial.backend", &t->backend));
    if (t->backend != "mpi" && t->backend != "nccl")
      return r.Error(n["backend"], "trial.backend", "expected mpi or nccl, got \"" + t->backend + "\"");
  }
  return Status::Ok();
}

Status ParseTraining(const Reader& r, const YAML::Node& n, TrainingParams* p) {
  std::set<std::string> allowed(KnownHyperparameters().begin(), KnownHyperparameters().end());
  PS_RETURN_IF_ERROR(r.CheckMap(n, "training", allowed));
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    if (!kv.second.IsScalar()) return r.Error(kv.second, "training." + key, "expected a scalar value");
    Status s = ApplyHyperparameter(p, key, ParamValue::Parse(kv.second.Scalar()));
    if (!s.ok()) return r.Error(kv.second, "training." + key, s.message());
  }
  return Status::Ok();
}

// Hyperparameters whose valid values depend on other sections.
Status CheckAgainstModel(const Reader& r, const YAML::Node& root, const SweepConfig& c) {
  const std::string layers = " is more than model.layers (" + std::to_string(c.model.layers) + ")";
  if (c.training.freeze_layers > c.model.layers) {
    return r.Error(root["training"]["freeze_layers"], "training.freeze_layers",
                   std::to_string(c.training.freeze_layers) + layers);
  }
  for (const ParamSpec& p : c.search.space.params) {
    if (p.name != "freeze_layers") continue;
    const YAML::Node at = root["search"]["space"]["freeze_layers"];
    if (p.kind != ParamKind::kChoice && p.high > c.model.layers) {
      return r.Error(at["high"], "search.space.freeze_layers.high", ParamValue::Number(p.high).ToString() + layers);
    }
    for (const ParamValue& v : p.choices) {
      if (v.number > c.model.layers) {
        return r.Error(at["values"], "search.space.freeze_layers.values", v.ToString() + layers);
      }
    }
  }
  return Status::Ok();
}

Status ParseParam(const Reader& r, const YAML::Node& n, const std::string& path, ParamSpec* spec) {
  if (!n.IsMap() || !n["type"]) {
    return r.Error(n, path, "expected a mapping with `type` (choice, uniform, loguniform, qloguniform, int)");
  }
  std::string type;
  PS_RETURN_IF_ERROR(r.String(n["type"], path + ".type", &type));
  TrainingParams scratch;
  auto check_value = [&](const YAML::Node& at, const std::string& at_path, const ParamValue& v) {
    Status s = ApplyHyperparameter(&scratch, spec->name, v);
    return s.ok() ? s : r.Error(at, at_path, s.message());
  };
  if (type == "choice") {
    spec->kind = ParamKind::kChoice;
    PS_RETURN_IF_ERROR(r.CheckMap(n, path, {"type", "values", "when"}));
    const YAML::Node values = n["values"];
    if (!values || !values.IsSequence() || values.size() == 0) {
      return r.Error(values ? values : n, path + ".values", "choice needs a non-empty list `values`");
    }
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string vp = path + ".values[" + std::to_string(i) + "]";
      if (!values[i].IsScalar()) return r.Error(values[i], vp, "expected a scalar value");
      ParamValue v = ParamValue::Parse(values[i].Scalar());
      PS_RETURN_IF_ERROR(check_value(values[i], vp, v));
      spec->choices.push_back(v);
    }
    return Status::Ok();
  }
  if (type == "uniform" || type == "loguniform" || type == "int" || type == "qloguniform") {
    spec->kind = type == "uniform"       ? ParamKind::kUniform
                 : type == "int"         ? ParamKind::kInt
                 : type == "qloguniform" ? ParamKind::kQLogUniform
                                         : ParamKind::kLogUniform;
    if (type == "int") {
      PS_RETURN_IF_ERROR(r.CheckMap(n, path, {"type", "low", "high", "when"}));
    } else if (type == "qloguniform") {
      PS_RETURN_IF_ERROR(r.CheckMap(n, path, {"type", "low", "high", "q", "when"}));
      if (!n["q"]) return r.Error(n, path + ".q", "required for qloguniform (values are multiples of q)");
      PS_RETURN_IF_ERROR(r.Number(n["q"], path + ".q", &spec->q, 1e-300, 1e300));
    } else {
      PS_RETURN_IF_ERROR(r.CheckMap(n, path, {"type", "low", "high", "points", "when"}));
    }
    for (const char* k : {"low", "high"}) {
      if (!n[k]) return r.Error(n, path + "." + k, std::string("required for ") + type);
    }
    PS_RETURN_IF_ERROR(r.Number(n["low"], path + ".low", &spec->low, -1e300, 1e300));
    PS_RETURN_IF_ERROR(r.Number(n["high"], path + ".high", &spec->high, -1e300, 1e300));
    if (spec->kind == ParamKind::kInt &&
        (std::nearbyint(spec->low) != spec->low || std::nearbyint(spec->high) != spec->high)) {
      return r.Error(n, path, "int bounds must be integers");
    }
    if (spec->kind == ParamKind::kInt ? spec->low > spec->high : spec->low >= spec->high) {
      return r.Error(n["high"], path + ".high", "must be greater than low");
    }
    if ((spec->kind == ParamKind::kLogUniform || spec->kind == ParamKind::kQLogUniform) && spec->low <= 0) {
      return r.Error(n["low"], path + ".low", type + " needs low > 0");
    }
    if (spec->kind == ParamKind::kQLogUniform && std::ceil(spec->low / spec->q) * spec->q > spec->high) {
      return r.Error(n["q"], path + ".q", "no multiple of q lies between low and high");
    }
    PS_RETURN_IF_ERROR(check_value(n["low"], path + ".low", ParamValue::Number(spec->low)));
    PS_RETURN_IF_ERROR(check_value(n["high"], path + ".high", ParamValue::Number(spec->high)));
    if (n["points"]) PS_RETURN_IF_ERROR(r.Integer(n["points"], path + ".points", &spec->grid_points, 2, 1000));
    return Status::Ok();
  }
  return r.Error(n["type"], path + ".type",
                 "unknown parameter type \"" + type + "\" (choice, uniform, loguniform, qloguniform, int)");
}

// `when: {parent: value}` or `when: {parent: [v1, v2]}`: the parameter is
// searched only in trials where the parent (a searched choice) took one of them.
Status ParseWhen(const Reader& r, const YAML::Node& n, const std::string& path, ParamSpec* spec) {
  if (!n.IsMap() || n.size() != 1) {
    return r.Error(n, path, "expected one `parent: value` (or `parent: [values]`) condition");
  }
  const auto kv = *n.begin();
  spec->when_param = kv.first.Scalar();
  const YAML::Node v = kv.second;
  if (v.IsScalar()) {
    spec->when_values.push_back(ParamValue::Parse(v.Scalar()));
  } else if (v.IsSequence() && v.size() > 0) {
    for (const auto& e : v) {
      if (!e.IsScalar()) return r.Error(e, path + "." + spec->when_param, "expected a scalar value");
      spec->when_values.push_back(ParamValue::Parse(e.Scalar()));
    }
  } else {
    return r.Error(v, path + "." + spec->when_param, "expected a value or a non-empty list of values");
  }
  return Status::Ok();
}

// Every condition names a searched choice parameter and some of its values,
// and conditions form no cycle.
Status CheckConditions(const Reader& r, const YAML::Node& space, const SearchSpace& s) {
  std::map<std::string, const ParamSpec*> by_name;
  for (const ParamSpec& p : s.params) by_name[p.name] = &p;
  for (const ParamSpec& p : s.params) {
    if (p.when_param.empty()) continue;
    const std::string path = "search.space." + p.name + ".when";
    const YAML::Node at = space[p.name]["when"];
    auto parent = by_name.find(p.when_param);
    if (parent == by_name.end() || parent->second->kind != ParamKind::kChoice) {
      return r.Error(at, path, "\"" + p.when_param + "\" is not a searched choice parameter");
    }
    for (const ParamValue& v : p.when_values) {
      const auto& choices = parent->second->choices;
      if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
        return r.Error(at, path, "\"" + v.ToString() + "\" is not one of " + p.when_param + "'s values");
      }
    }
    std::set<std::string> seen{p.name};
    for (const ParamSpec* q = parent->second; !q->when_param.empty(); q = by_name[q->when_param]) {
      if (!seen.insert(q->name).second || !by_name.count(q->when_param)) {
        return r.Error(at, path, "conditions form a cycle through " + q->name);
      }
    }
  }
  return Status::Ok();
}

Status ParseSearch(const Reader& r, const YAML::Node& n, SearchConfig* s) {
  PS_RETURN_IF_ERROR(r.CheckMap(n, "search", {"algorithm", "seed", "space", "startup_trials", "candidates", "gamma"}));
  if (n["algorithm"]) {
    std::string a;
    PS_RETURN_IF_ERROR(r.String(n["algorithm"], "search.algorithm", &a));
    if (a == "grid") s->algorithm = SearchAlgorithm::kGrid;
    else if (a == "random") s->algorithm = SearchAlgorithm::kRandom;
    else if (a == "quasirandom") s->algorithm = SearchAlgorithm::kQuasiRandom;
    else if (a == "tpe") s->algorithm = SearchAlgorithm::kTpe;
    else {
      return r.Error(n["algorithm"], "search.algorithm",
                     "expected grid, random, quasirandom or tpe, got \"" + a + "\"");
    }
  }
  if (n["startup_trials"])
    PS_RETURN_IF_ERROR(r.Integer(n["startup_trials"], "search.startup_trials", &s->startup_trials, 1, 100000));
  if (n["candidates"]) PS_RETURN_IF_ERROR(r.Integer(n["candidates"], "search.candidates", &s->candidates, 1, 10000));
  if (n["gamma"]) PS_RETURN_IF_ERROR(r.Number(n["gamma"], "search.gamma", &s->gamma, 0.01, 0.99));
  if (n["seed"]) PS_RETURN_IF_ERROR(r.Integer(n["seed"], "search.seed", &s->seed, 0, 9007199254740991.0));
  const YAML::Node space = n["space"];
  if (!space) return r.Error(n, "search.space", "required: the hyperparameters to search");
  if (space.IsNull() || (space.IsMap() && space.size() == 0)) {
    return r.Error(space, "search.space", "empty search space: name at least one hyperparameter");
  }
  std::set<std::string> allowed(KnownHyperparameters().begin(), KnownHyperparameters().end());
  PS_RETURN_IF_ERROR(r.CheckMap(space, "search.space", allowed));
  for (const auto& kv : space) {
    ParamSpec spec;
    spec.name = kv.first.Scalar();
    PS_RETURN_IF_ERROR(ParseParam(r, kv.second, "search.space." + spec.name, &spec));
    if (kv.second["when"]) {
      PS_RETURN_IF_ERROR(ParseWhen(r, kv.second["when"], "search.space." + spec.name + ".when", &spec));
    }
    s->space.params.push_back(std::move(spec));
  }
  std::sort(s->space.params.begin(), s->space.params.end(),
            [](const ParamSpec& a, const ParamSpec& b) { return a.name < b.name; });
  PS_RETURN_IF_ERROR(CheckConditions(r, space, s->space));
  if (s->algorithm == SearchAlgorithm::kGrid) {
    for (const ParamSpec& p : s->space.params) {
      if (!p.when_param.empty()) {
        return r.Error(space[p.name]["when"], "search.space." + p.name + ".when",
                       "grid search has no conditional parameters (use random, quasirandom or tpe)");
      }
      bool continuous = p.kind == ParamKind::kUniform || p.kind == ParamKind::kLogUniform ||
                        p.kind == ParamKind::kQLogUniform;
      if (continuous && p.grid_points == 0) {
        return r.Error(space[p.name], "search.space." + p.name,
                       "grid search needs `points: N` for a continuous parameter");
      }
    }
  }
  return Status::Ok();
}

Status ParseMetric(const Reader& r, const YAML::Node& n, MetricConfig* m) {
  PS_RETURN_IF_ERROR(r.CheckMap(n, "metric", {"name", "mode", "over", "min_language_f1"}));
  if (n["name"]) {
    PS_RETURN_IF_ERROR(r.String(n["name"], "metric.name", &m->name));
    static const std::set<std::string> kNames = {"accuracy", "macro_f1", "valid_loss", "language_f1",
                                                 "language_accuracy"};
    if (!kNames.count(m->name)) {
      return r.Error(n["name"], "metric.name",
                     "unknown metric \"" + m->name +
                         "\" (accuracy, macro_f1, valid_loss, language_f1, language_accuracy)");
    }
    m->maximize = m->name != "valid_loss";
  }
  const bool per_language = m->name == "language_f1" || m->name == "language_accuracy";
  if (n["over"]) {
    PS_RETURN_IF_ERROR(r.String(n["over"], "metric.over", &m->over));
    if (!per_language) {
      return r.Error(n["over"], "metric.over", "only for language_f1 and language_accuracy, not " + m->name);
    }
    if (m->over.empty()) return r.Error(n["over"], "metric.over", "expected macro, worst or a language code");
  } else if (per_language) {
    return r.Error(n, "metric.over", "required for " + m->name + ": macro, worst or a language code");
  }
  if (n["min_language_f1"]) {
    PS_RETURN_IF_ERROR(r.Number(n["min_language_f1"], "metric.min_language_f1", &m->min_language_f1, 0, 1));
  }
  if (n["mode"]) {
    std::string mode;
    PS_RETURN_IF_ERROR(r.String(n["mode"], "metric.mode", &mode));
    if (mode != "max" && mode != "min") return r.Error(n["mode"], "metric.mode", "expected max or min");
    m->maximize = mode == "max";
  }
  return Status::Ok();
}

Status ParseScheduler(const Reader& r, const YAML::Node& n, SchedulerConfig* s) {
  PS_RETURN_IF_ERROR(r.CheckMap(n, "scheduler", {"type", "grace", "reduction_factor", "brackets", "min_trials",
                                                "promote_in_place"}));
  if (n["type"]) {
    std::string t;
    PS_RETURN_IF_ERROR(r.String(n["type"], "scheduler.type", &t));
    if (t == "fifo") s->kind = SchedulerKind::kFifo;
    else if (t == "asha") s->kind = SchedulerKind::kAsha;
    else if (t == "hyperband") s->kind = SchedulerKind::kHyperband;
    else if (t == "median") s->kind = SchedulerKind::kMedian;
    else return r.Error(n["type"], "scheduler.type", "expected fifo, asha, hyperband or median, got \"" + t + "\"");
  }
  if (n["grace"]) PS_RETURN_IF_ERROR(r.Integer(n["grace"], "scheduler.grace", &s->grace, 1, 1e12));
  if (n["reduction_factor"])
    PS_RETURN_IF_ERROR(r.Number(n["reduction_factor"], "scheduler.reduction_factor", &s->reduction_factor, 1.5, 100));
  if (n["brackets"]) PS_RETURN_IF_ERROR(r.Integer(n["brackets"], "scheduler.brackets", &s->brackets, 1, 10));
  if (n["min_trials"]) PS_RETURN_IF_ERROR(r.Integer(n["min_trials"], "scheduler.min_trials", &s->min_trials, 1, 1000));
  if (n["promote_in_place"])
    PS_RETURN_IF_ERROR(r.Bool(n["promote_in_place"], "scheduler.promote_in_place", &s->promote_in_place));
  return Status::Ok();
}

Status ParseBudget(const Reader& r, const YAML::Node& n, BudgetConfig* b) {
  PS_RETURN_IF_ERROR(r.CheckMap(n, "budget", {"max_trials", "max_steps", "epochs", "eval_every", "log_every"}));
  if (n["max_trials"]) PS_RETURN_IF_ERROR(r.Integer(n["max_trials"], "budget.max_trials", &b->max_trials, 1, 1e6));
  if (n["max_steps"]) PS_RETURN_IF_ERROR(r.Integer(n["max_steps"], "budget.max_steps", &b->max_steps, 1, 1e12));
  if (n["epochs"]) PS_RETURN_IF_ERROR(r.Number(n["epochs"], "budget.epochs", &b->epochs, 0.001, 1e6));
  if (n["eval_every"]) PS_RETURN_IF_ERROR(r.Integer(n["eval_every"], "budget.eval_every", &b->eval_every, 0, 1e12));
  if (n["log_every"]) PS_RETURN_IF_ERROR(r.Integer(n["log_every"], "budget.log_every", &b->log_every, 1, 1e12));
  if ((b->max_steps > 0) == (b->epochs > 0)) {
    return r.Error(n, "budget", "set exactly one of max_steps and epochs");
  }
  return Status::Ok();
}

Status ParseSecurity(const Reader& r, const YAML::Node& n, SecurityConfig* s) {
  PS_RETURN_IF_ERROR(r.CheckMap(n, "security", {"curve", "keys_dir"}));
  if (n["curve"]) {
    PS_RETURN_IF_ERROR(r.String(n["curve"], "security.curve", &s->curve));
    if (s->curve != "auto" && s->curve != "on" && s->curve != "off")
      return r.Error(n["curve"], "security.curve", "expected auto, on or off, got \"" + s->curve + "\"");
  }
  if (n["keys_dir"]) PS_RETURN_IF_ERROR(r.String(n["keys_dir"], "security.keys_dir", &s->keys_dir));
  return Status::Ok();
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 100) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return s != "." && s != "..";
}

}  // namespace

const char* SearchAlgorithmName(SearchAlgorithm algorithm) {
  switch (algorithm) {
    case SearchAlgorithm::kGrid: return "grid";
    case SearchAlgorithm::kRandom: return "random";
    case SearchAlgorithm::kQuasiRandom: return "quasirandom";
    case SearchAlgorithm::kTpe: return "tpe";
  }
  return "?";
}

const char* SchedulerKindName(SchedulerKind kind) {
  switch (kind) {
    case SchedulerKind::kFifo: return "fifo";
    case SchedulerKind::kAsha: return "asha";
    case SchedulerKind::kHyperband: return "hyperband";
    case SchedulerKind::kMedian: return "median";
  }
  return "?";
}

bool IsLoopbackEndpoint(const std::string& e) {
  if (e.rfind("ipc://", 0) == 0 || e.rfind("inproc://", 0) == 0) return true;
  for (const char* p : {"tcp://127.", "tcp://localhost:", "tcp://[::1]:"}) {
    if (e.rfind(p, 0) == 0) return true;
  }
  return false;
}

StatusOr<SweepConfig> ParseSweepConfig(const std::string& yaml_text, const std::string& path) {
  Reader r(path);
  if (size_t bad = FindInvalidUtf8(yaml_text); bad != std::string::npos) {
    const size_t line = 1 + static_cast<size_t>(std::count(yaml_text.begin(), yaml_text.begin() + static_cast<long>(bad), '\n'));
    const size_t line_start = yaml_text.rfind('\n', bad == 0 ? 0 : bad - 1);
    const size_t column = bad - (line_start == std::string::npos || bad == 0 ? 0 : line_start + 1) + 1;
    return Status::Error(path + ":" + std::to_string(line) + ": invalid UTF-8 at byte " + std::to_string(column) +
                         " of the line");
  }
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Status::Error(path + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (!root.IsMap()) return Status::Error(path + ":1: expected a mapping of keys (name, data, search, budget, ...)");
  SweepConfig c;
  c.source_path = path;
  c.source_text = yaml_text;
  PS_RETURN_IF_ERROR(r.CheckMap(root, "", {"name", "output_dir", "bind", "max_concurrent", "data",
                                           "model", "trial", "training", "search", "metric",
                                           "scheduler", "budget", "security"}));
  for (const char* k : {"name", "data", "search", "budget"}) {
    if (!root[k]) return r.Error(root, k, "required key is missing");
  }
  PS_RETURN_IF_ERROR(r.String(root["name"], "name", &c.name));
  if (!ValidName(c.name)) return r.Error(root["name"], "name", "use letters, digits, '-', '_' or '.'");
  c.output_dir = "runs/" + c.name;
  if (root["output_dir"]) PS_RETURN_IF_ERROR(r.String(root["output_dir"], "output_dir", &c.output_dir));
  if (root["bind"]) PS_RETURN_IF_ERROR(r.String(root["bind"], "bind", &c.bind));
  if (root["max_concurrent"])
    PS_RETURN_IF_ERROR(r.Integer(root["max_concurrent"], "max_concurrent", &c.max_concurrent, 1, 10000));
  PS_RETURN_IF_ERROR(ParseData(r, root["data"], &c.data));
  if (c.data.shard_dir.empty()) c.data.shard_dir = c.output_dir + "/data";
  if (root["model"]) PS_RETURN_IF_ERROR(ParseModel(r, root["model"], &c.model));
  if (root["trial"]) PS_RETURN_IF_ERROR(ParseTrial(r, root["trial"], &c.trial));
  if (root["training"]) PS_RETURN_IF_ERROR(ParseTraining(r, root["training"], &c.training));
  PS_RETURN_IF_ERROR(ParseSearch(r, root["search"], &c.search));
  PS_RETURN_IF_ERROR(CheckAgainstModel(r, root, c));
  PS_RETURN_IF_ERROR(CheckInitModel(r, root, &c));
  if (root["metric"]) {
    PS_RETURN_IF_ERROR(ParseMetric(r, root["metric"], &c.metric));
    const std::string& over = c.metric.over;
    if (!over.empty() && over != "macro" && over != "worst" && !IsKnownLanguage(over, c.data.extra_languages)) {
      return r.Error(root["metric"]["over"], "metric.over",
                     "expected macro, worst or a language code, got \"" + over + "\"");
    }
  }
  PS_RETURN_IF_ERROR(CheckMaskedLm(r, root, &c));
  PS_RETURN_IF_ERROR(ParseBudget(r, root["budget"], &c.budget));
  if (c.budget.eval_every == 0) {
    const bool searched = std::any_of(c.search.space.params.begin(), c.search.space.params.end(),
                                      [](const ParamSpec& p) { return p.name == "early_stopping_patience"; });
    if (c.training.early_stopping_patience > 0 || searched) {
      const YAML::Node at = searched ? root["search"]["space"]["early_stopping_patience"]
                                     : root["training"]["early_stopping_patience"];
      return r.Error(at, searched ? "search.space.early_stopping_patience" : "training.early_stopping_patience",
                     "needs budget.eval_every > 0 (it counts evaluations without a better score)");
    }
  }
  if (root["scheduler"]) {
    PS_RETURN_IF_ERROR(ParseScheduler(r, root["scheduler"], &c.scheduler));
    if (c.scheduler.grace == 0) c.scheduler.grace = c.budget.eval_every;
    if (c.scheduler.kind != SchedulerKind::kFifo && c.scheduler.grace == 0) {
      return r.Error(root["scheduler"], "scheduler.grace",
                     "required (steps before the first decision) when budget.eval_every is 0");
    }
    // With epochs the step budget is known only once the data is sharded.
    if (c.scheduler.kind != SchedulerKind::kFifo && c.budget.max_steps > 0 &&
        c.scheduler.grace >= c.budget.max_steps) {
      const bool given = static_cast<bool>(root["scheduler"]["grace"]);
      return r.Error(given ? root["scheduler"]["grace"] : root["scheduler"], "scheduler.grace",
                     std::to_string(c.scheduler.grace) + (given ? "" : " (budget.eval_every, its default)") +
                         " is not below budget.max_steps (" + std::to_string(c.budget.max_steps) +
                         "): every trial would train its full budget before the first decision; lower it, or use "
                         "type: fifo");
    }
    if (c.scheduler.kind != SchedulerKind::kFifo && c.trial.synthetic_step_ms > 0) {
      return r.Error(root["scheduler"], "scheduler.type",
                     "synthetic trials (trial.synthetic_step_ms) keep no checkpoints to pause and resume at; use fifo");
    }
  }
  if (root["security"]) PS_RETURN_IF_ERROR(ParseSecurity(r, root["security"], &c.security));
  if (c.security.keys_dir.empty()) c.security.keys_dir = c.output_dir + "/keys";
  return c;
}

int ResolvedThreadsPerRank(const SweepConfig& config, int cpus) {
  if (config.trial.threads_per_rank > 0) return config.trial.threads_per_rank;
  return std::max(1, cpus / std::max(1, config.trial.ranks * config.max_concurrent));
}

int AvailableCpus() {
  const std::string slurm = GetEnv("SLURM_CPUS_ON_NODE");
  if (!slurm.empty() && std::atoi(slurm.c_str()) > 0) return std::atoi(slurm.c_str());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

StatusOr<SweepConfig> LoadSweepConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseSweepConfig(ss.str(), path);
}

}  // namespace polysweep
