// The sweep config's search section: the searcher, and the space of
// hyperparameters with their types, bounds, grid points and conditions.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "common/config.h"
#include "common/config_reader.h"

namespace polysweep::config {
namespace {

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

}  // namespace

// Hyperparameters whose valid values depend on other sections.
Status CheckAgainstModel(const Reader& r, const YAML::Node& root, const SweepConfig& c) {
  // A model.init of unstated layers decides them: CheckConfigFiles checks then.
  if (!c.model.init.empty() && !c.lines.count("model.layers")) return Status::Ok();
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

Status ParseSearch(const Reader& r, const YAML::Node& n, const std::vector<KindName<SearchAlgorithm>>& algorithms,
                   SearchConfig* s) {
  using S = SearchConfig;
  const std::vector<Field<S>> fields = {
      Named<S, SearchAlgorithm>("algorithm", &S::algorithm, algorithms),
      Integer<S>("seed", &S::seed, 0, 9007199254740991.0),
      Integer<S>("startup_trials", &S::startup_trials, 1, 100000),
      Integer<S>("candidates", &S::candidates, 1, 10000),
      Number<S>("gamma", &S::gamma, 0.01, 0.99),
      {"space", [](const Reader&, const YAML::Node&, const std::string&, S*) { return Status::Ok(); }},  // below
  };
  PS_RETURN_IF_ERROR(ReadSection(r, n, "search", fields, s));
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

}  // namespace polysweep::config
