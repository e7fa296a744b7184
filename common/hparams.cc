#include "common/hparams.h"

#include <cmath>
#include <functional>

namespace polysweep {
namespace {

constexpr double kPi = 3.14159265358979323846;

enum class Kind { kReal, kInt, kBool, kWord };

struct Rule {
  const char* name;
  Kind kind;
  double min = 0;         // inclusive (numbers)
  double max = 0;         // inclusive unless max_open
  bool max_open = false;
  std::vector<std::string> words;  // kWord: the accepted values
  // Numbers and booleans (0/1) as a double, words as text.
  std::function<void(TrainingParams*, const ParamValue&)> set;
  std::function<ParamValue(const TrainingParams&)> get;
};

Rule Real(const char* name, double min, double max, double TrainingParams::*field, bool max_open = false) {
  return {name, Kind::kReal, min, max, max_open, {},
          [field](TrainingParams* p, const ParamValue& v) { p->*field = v.number; },
          [field](const TrainingParams& p) { return ParamValue::Number(p.*field); }};
}

Rule Int(const char* name, double min, double max, int TrainingParams::*field) {
  return {name, Kind::kInt, min, max, false, {},
          [field](TrainingParams* p, const ParamValue& v) { p->*field = static_cast<int>(v.number); },
          [field](const TrainingParams& p) { return ParamValue::Number(p.*field); }};
}

Rule Bool(const char* name, bool TrainingParams::*field) {
  return {name, Kind::kBool, 0, 1, false, {},
          [field](TrainingParams* p, const ParamValue& v) { p->*field = v.number != 0; },
          [field](const TrainingParams& p) { return ParamValue::Text(p.*field ? "true" : "false"); }};
}

Rule Word(const char* name, std::vector<std::string> words, std::string TrainingParams::*field) {
  return {name, Kind::kWord, 0, 0, false, std::move(words),
          [field](TrainingParams* p, const ParamValue& v) { p->*field = v.text; },
          [field](const TrainingParams& p) { return ParamValue::Text(p.*field); }};
}

const std::vector<Rule>& Rules() {
  static const std::vector<Rule> rules = {
      Real("lr", 1e-8, 10, &TrainingParams::lr),
      Int("batch_size", 1, 65536, &TrainingParams::batch_size),
      Int("grad_accumulation", 1, 1024, &TrainingParams::grad_accumulation),
      Int("warmup_steps", 0, 1e9, &TrainingParams::warmup_steps),
      Real("warmup_ratio", 0, 1, &TrainingParams::warmup_ratio, true),
      Word("lr_schedule", {"linear", "cosine", "constant"}, &TrainingParams::lr_schedule),
      Real("weight_decay", 0, 10, &TrainingParams::weight_decay),
      Real("dropout", 0, 1, &TrainingParams::dropout, true),
      Real("grad_clip", 0, 1e9, &TrainingParams::grad_clip),
      Bool("freeze_embeddings", &TrainingParams::freeze_embeddings),
      Int("freeze_layers", 0, 1024, &TrainingParams::freeze_layers),
      Real("layer_lr_decay", 0.01, 1, &TrainingParams::layer_lr_decay),
      Int("early_stopping_patience", 0, 1000000, &TrainingParams::early_stopping_patience),
      Bool("lora", &TrainingParams::lora),
      Int("lora_rank", 1, 4096, &TrainingParams::lora_rank),
      Real("lora_alpha", 1e-6, 1e6, &TrainingParams::lora_alpha),
      Word("lora_targets", {"attention", "qkv", "all"}, &TrainingParams::lora_targets),
      Int("seed", 0, 2147483647, &TrainingParams::seed),
      Real("mask_prob", 1e-6, 1, &TrainingParams::mask_prob, true),
      Real("threshold", 1e-6, 1, &TrainingParams::threshold, true),
      Real("word_dropout", 0, 1, &TrainingParams::word_dropout, true),
      Real("epochs", 0, 1e6, &TrainingParams::epochs),
  };
  return rules;
}

// `value` as the rule's kind, or why it is not one.
StatusOr<ParamValue> Check(const Rule& r, const ParamValue& value) {
  const std::string name = r.name;
  if (r.kind == Kind::kWord) {
    std::string list;
    for (const auto& w : r.words) list += (list.empty() ? "" : ", ") + w;
    for (const auto& w : r.words) {
      if (value.is_text && value.text == w) return value;
    }
    return Status::Error("hyperparameter " + name + " must be one of " + list + ", got \"" + value.ToString() +
                         "\"");
  }
  if (r.kind == Kind::kBool) {
    if (value.is_text && (value.text == "true" || value.text == "false")) {
      return ParamValue::Number(value.text == "true" ? 1 : 0);
    }
    if (!value.is_text && (value.number == 0 || value.number == 1)) return value;
    return Status::Error("hyperparameter " + name + " must be true or false, got \"" + value.ToString() + "\"");
  }
  if (value.is_text) {
    return Status::Error("hyperparameter " + name + " must be a number, got \"" + value.text + "\"");
  }
  const double v = value.number;
  if (!std::isfinite(v)) return Status::Error("hyperparameter " + name + " must be finite");
  if (r.kind == Kind::kInt && std::nearbyint(v) != v) {
    return Status::Error("hyperparameter " + name + " must be an integer, got " + value.ToString());
  }
  const bool too_high = r.max_open ? v >= r.max : v > r.max;
  if (v < r.min || too_high) {
    return Status::Error("hyperparameter " + name + " = " + value.ToString() + " is out of range [" +
                         ParamValue::Number(r.min).ToString() + ", " + ParamValue::Number(r.max).ToString() +
                         (r.max_open ? ")" : "]"));
  }
  return value;
}

}  // namespace

int64_t TrainingParams::WarmupSteps(int64_t max_steps) const {
  if (warmup_ratio > 0) return static_cast<int64_t>(std::llround(warmup_ratio * static_cast<double>(max_steps)));
  return warmup_steps;
}

double ScheduledLr(const std::string& schedule, double peak, int64_t step, int64_t warmup, int64_t max_steps) {
  if (warmup > 0 && step <= warmup) return peak * static_cast<double>(step) / static_cast<double>(warmup);
  if (schedule == "constant") return peak;
  const double span = static_cast<double>(std::max<int64_t>(1, max_steps - warmup));
  const double done = std::min(1.0, std::max(0.0, static_cast<double>(step - warmup) / span));
  if (schedule == "cosine") return peak * 0.5 * (1.0 + std::cos(kPi * done));
  return peak * (1.0 - done);
}

const std::vector<std::string>& KnownHyperparameters() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Rule& r : Rules()) out.push_back(r.name);
    return out;
  }();
  return names;
}

Status ApplyHyperparameter(TrainingParams* params, const std::string& name, const ParamValue& value) {
  for (const Rule& r : Rules()) {
    if (name != r.name) continue;
    auto checked = Check(r, value);
    if (!checked.ok()) return checked.status();
    r.set(params, *checked);
    return Status::Ok();
  }
  std::string known;
  for (const auto& n : KnownHyperparameters()) known += (known.empty() ? "" : ", ") + n;
  return Status::Error("unknown hyperparameter \"" + name + "\" (known: " + known + ")");
}

Status ApplyAssignment(TrainingParams* params, const ParamAssignment& assignment) {
  for (const auto& [name, value] : assignment) {
    PS_RETURN_IF_ERROR(ApplyHyperparameter(params, name, value));
  }
  return Status::Ok();
}

std::map<std::string, std::string> FormatHyperparameters(const TrainingParams& params) {
  std::map<std::string, std::string> out;
  for (const Rule& r : Rules()) out[r.name] = r.get(params).ToString();
  return out;
}

}  // namespace polysweep
