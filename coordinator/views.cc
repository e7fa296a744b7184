#include "coordinator/views.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "common/files.h"
#include "coordinator/table.h"

namespace polysweep {
namespace {

std::string Duration(double seconds) {
  if (seconds < 0) return "-";
  long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  return out;
}

std::string Params(const wire::TrialSummary& t) {
  std::string out;
  for (const auto& [k, v] : std::map<std::string, std::string>(t.hparams().begin(), t.hparams().end())) {
    out += (out.empty() ? "" : " ") + k + "=" + v;
  }
  return out;
}

}  // namespace

std::optional<wire::TrialSummary> BestTrial(const wire::StatusReply& status) {
  // A trial that meets the metric's constraints beats any that does not.
  std::optional<wire::TrialSummary> best;
  for (const auto& t : status.trials()) {
    if (!t.has_metric() || t.state() == "failed" || !std::isfinite(t.metric())) continue;
    const bool better = !best || (best->infeasible() && !t.infeasible()) ||
                        (best->infeasible() == t.infeasible() &&
                         (status.maximize() ? t.metric() > best->metric() : t.metric() < best->metric()));
    if (better) best = t;
  }
  return best;
}

std::string RenderStatus(const wire::StatusReply& s, const std::string& source) {
  std::map<std::string, int> by_state;
  for (const auto& t : s.trials()) by_state[t.state()]++;
  std::ostringstream out;
  const double end = s.finished_at() > 0 ? s.finished_at() : WallSeconds();
  out << "sweep      " << s.sweep() << "  (" << s.state() << ", " << Duration(end - s.created_at()) << ")\n";
  out << "source     " << source << "\n";
  out << "trials     " << s.trials_size() << " of " << s.max_trials() << " issued";
  for (const auto& [state, n] : by_state) out << ", " << n << " " << state;
  out << "\n";
  out << "metric     " << s.metric() << " (" << (s.maximize() ? "max" : "min") << ")\n";
  if (auto best = BestTrial(s)) {
    out << "best       trial " << best->id() << ": " << s.metric() << " " << Fixed(best->metric(), 4)
        << "  (" << Params(*best) << ")\n";
  } else {
    out << "best       none yet\n";
  }
  std::string slurm;
  for (const auto& t : s.trials()) {
    if (!t.slurm_step().empty() && t.state() == "running") {
      slurm += (slurm.empty() ? "" : ", ") + std::string("trial ") + std::to_string(t.id()) + " step " + t.slurm_step();
    }
  }
  if (!slurm.empty()) out << "slurm      " << slurm << "\n";
  if (s.rejected_messages() > 0 || s.rejected_connections() > 0) {
    out << "rejected   " << s.rejected_messages() << " messages, " << s.rejected_connections() << " connections\n";
  }
  return out.str();
}

std::string RenderTrials(const wire::StatusReply& s) {
  // A Slurm column only for sweeps whose trials ran under Slurm.
  const bool slurm = std::any_of(s.trials().begin(), s.trials().end(),
                                 [](const wire::TrialSummary& t) { return !t.slurm_step().empty(); });
  std::vector<std::string> header = {"ID", "STATE", "ATTEMPT", "STEP", "LOSS", s.metric(), "SAMPLES/S", "TIME"};
  if (slurm) header.push_back("SLURM");
  header.push_back("HYPERPARAMETERS");
  TextTable table(header);
  for (const auto& t : s.trials()) {
    const double end = t.finished_at() > 0 ? t.finished_at() : WallSeconds();
    std::vector<std::string> row = {std::to_string(t.id()), t.state(), std::to_string(t.attempt()),
                                    std::to_string(t.step()) + "/" + std::to_string(t.max_steps()),
                                    t.step() > 0 ? Fixed(t.loss(), 4) : "-",
                                    t.has_metric() ? Fixed(t.metric(), 4) + (t.infeasible() ? "!" : "") : "-",
                                    t.samples_per_sec() > 0 ? Fixed(t.samples_per_sec(), 1) : "-",
                                    t.started_at() > 0 ? Duration(end - t.started_at()) : "-"};
    if (slurm) row.push_back(t.slurm_step().empty() ? "-" : t.slurm_step());
    row.push_back(Params(t));
    table.Add(row);
  }
  std::string out = table.Render();
  for (const auto& t : s.trials()) {
    if (t.infeasible()) {
      out += "! a language is below metric.min_language_f1 (such trials rank after all others)\n";
      break;
    }
  }
  for (const auto& t : s.trials()) {
    if (!t.error().empty()) {
      out += "trial " + std::to_string(t.id()) + " " + t.state() + (t.reason().empty() ? "" : " (" + t.reason() + ")") +
             ": " + t.error() + "\n";
    }
  }
  return out;
}

std::string RenderBest(const wire::StatusReply& s, const std::string& checkpoint) {
  auto best = BestTrial(s);
  if (!best) return "no trial has a " + s.metric() + " yet\n";
  std::ostringstream out;
  out << "best trial " << best->id() << " of sweep " << s.sweep() << " (" << best->state() << ")\n";
  out << "  " << s.metric() << "  " << Fixed(best->metric(), 4)
      << (best->infeasible() ? "  (infeasible: a language is below metric.min_language_f1)" : "") << "\n";
  // Per-token scoring (masked_lm) computes no F1; a classifier with any
  // correct prediction has F1 > 0.
  const bool token_level = best->macro_f1() == 0 && best->accuracy() > 0;
  if (token_level) {
    out << "  masked-token accuracy " << Fixed(best->accuracy(), 4) << "   valid_loss " << Fixed(best->valid_loss(), 4)
        << "\n";
  } else {
    out << "  accuracy " << Fixed(best->accuracy(), 4) << "   macro_f1 " << Fixed(best->macro_f1(), 4)
        << "   valid_loss " << Fixed(best->valid_loss(), 4) << "\n";
  }
  out << "  hyperparameters  " << Params(*best) << "\n";
  if (!checkpoint.empty()) out << "  checkpoint       " << checkpoint << "\n";
  out << "\n";
  TextTable table(token_level ? std::vector<std::string>{"LANG", "ACCURACY", "MASKED TOKENS"}
                              : std::vector<std::string>{"LANG", "MACRO-F1", "ACCURACY", "EXAMPLES"});
  std::vector<wire::LanguageScore> langs(best->languages().begin(), best->languages().end());
  std::sort(langs.begin(), langs.end(), [&](const auto& a, const auto& b) {
    return token_level ? a.accuracy() > b.accuracy() : a.f1() > b.f1();
  });
  for (const auto& l : langs) {
    if (token_level) {
      table.Add({l.lang(), Fixed(l.accuracy(), 4), std::to_string(l.count())});
    } else {
      table.Add({l.lang(), Fixed(l.f1(), 4), Fixed(l.accuracy(), 4), std::to_string(l.count())});
    }
  }
  out << table.Render();
  return out.str();
}

std::string StatusJson(const wire::StatusReply& s, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(ToJson(s));
  j["source"] = source;
  j.erase("trials");
  std::map<std::string, int> by_state;
  for (const auto& t : s.trials()) by_state[t.state()]++;
  j["trials_by_state"] = by_state;
  j["trials_issued"] = s.trials_size();
  nlohmann::json slurm = nlohmann::json::object();
  for (const auto& t : s.trials()) {
    if (!t.slurm_step().empty()) slurm[std::to_string(t.id())] = t.slurm_step();
  }
  j["slurm_steps"] = slurm;
  auto best = BestTrial(s);
  j["best"] = best ? nlohmann::json::parse(ToJson(*best)) : nlohmann::json(nullptr);
  return j.dump(2) + "\n";
}

std::string TrialsJson(const wire::StatusReply& s) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& t : s.trials()) arr.push_back(nlohmann::json::parse(ToJson(t)));
  return nlohmann::json{{"sweep", s.sweep()}, {"metric", s.metric()}, {"trials", arr}}.dump(2) + "\n";
}

std::string BestJson(const wire::StatusReply& s, const std::string& checkpoint) {
  auto best = BestTrial(s);
  nlohmann::json j = {{"sweep", s.sweep()}, {"metric", s.metric()}, {"maximize", s.maximize()}};
  j["best"] = best ? nlohmann::json::parse(ToJson(*best)) : nlohmann::json(nullptr);
  j["checkpoint"] = checkpoint.empty() ? nlohmann::json(nullptr) : nlohmann::json(checkpoint);
  return j.dump(2) + "\n";
}

}  // namespace polysweep
