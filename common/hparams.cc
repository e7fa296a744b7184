#include "common/hparams.h"

#include <cmath>
#include <functional>

namespace polysweep {
namespace {

struct Rule {
  const char* name;
  bool integer;
  double min;        // inclusive
  double max;        // inclusive unless max_open
  bool max_open;
  std::function<void(TrainingParams*, double)> set;
};

const std::vector<Rule>& Rules() {
  static const std::vector<Rule> rules = {
      {"lr", false, 1e-8, 10, false, [](TrainingParams* p, double v) { p->lr = v; }},
      {"batch_size", true, 1, 65536, false,
       [](TrainingParams* p, double v) { p->batch_size = static_cast<int>(v); }},
      {"warmup_steps", true, 0, 1e9, false,
       [](TrainingParams* p, double v) { p->warmup_steps = static_cast<int>(v); }},
      {"weight_decay", false, 0, 10, false,
       [](TrainingParams* p, double v) { p->weight_decay = v; }},
      {"dropout", false, 0, 1, true, [](TrainingParams* p, double v) { p->dropout = v; }},
      {"grad_clip", false, 0, 1e9, false,
       [](TrainingParams* p, double v) { p->grad_clip = v; }},
      {"seed", true, 0, 2147483647, false,
       [](TrainingParams* p, double v) { p->seed = static_cast<int>(v); }},
  };
  return rules;
}

}  // namespace

const std::vector<std::string>& KnownHyperparameters() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Rule& r : Rules()) out.push_back(r.name);
    return out;
  }();
  return names;
}

Status ApplyHyperparameter(TrainingParams* params, const std::string& name,
                           const ParamValue& value) {
  for (const Rule& r : Rules()) {
    if (name != r.name) continue;
    if (value.is_text) {
      return Status::Error("hyperparameter " + name + " must be a number, got \"" +
                           value.text + "\"");
    }
    double v = value.number;
    if (!std::isfinite(v)) return Status::Error("hyperparameter " + name + " must be finite");
    if (r.integer && std::nearbyint(v) != v) {
      return Status::Error("hyperparameter " + name + " must be an integer, got " +
                           value.ToString());
    }
    bool too_high = r.max_open ? v >= r.max : v > r.max;
    if (v < r.min || too_high) {
      return Status::Error("hyperparameter " + name + " = " + value.ToString() +
                           " is out of range [" + ParamValue::Number(r.min).ToString() +
                           ", " + ParamValue::Number(r.max).ToString() +
                           (r.max_open ? ")" : "]"));
    }
    r.set(params, v);
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

}  // namespace polysweep
