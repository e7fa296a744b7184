#include "cli/views.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "common/files.h"
#include "common/tasks.h"
#include "cli/ranking.h"
#include "cli/table.h"

namespace polysweep {

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  return out;
}


double EstimateSecondsLeft(const wire::StatusReply& s, double now) {
  int64_t done = 0, left = 0, full = 0;
  for (const auto& t : s.trials()) {
    done += t.step();
    full = std::max<int64_t>(full, t.max_steps());
    if (!IsFinal(StateOf(t))) {
      left += std::max<int64_t>(0, t.max_steps() - t.step());
    }
  }
  if (!SweepRunning(s) || done == 0 || full == 0) return -1;
  left += std::max(0, s.max_trials() - s.trials_size()) * full;
  const double elapsed = now - s.created_at();
  if (elapsed <= 0) return -1;
  return static_cast<double>(left) * elapsed / static_cast<double>(done);
}

namespace {

// Ranks busy now, throughput, and rank-seconds spent on trials so far.
struct ResourceUse {
  int running = 0;
  int ranks = 0;
  double samples_per_sec = 0;
  double rank_seconds = 0;
};

ResourceUse Resources(const wire::StatusReply& s, int ranks_per_trial, double now) {
  ResourceUse r;
  for (const auto& t : s.trials()) {
    if (StateOf(t) == TrialState::kRunning) {
      ++r.running;
      r.samples_per_sec += t.samples_per_sec();
    }
    if (t.started_at() > 0) {
      const double end = t.finished_at() > 0 ? t.finished_at() : (StateOf(t) == TrialState::kRunning ? now : t.started_at());
      r.rank_seconds += std::max(0.0, end - t.started_at()) * ranks_per_trial;
    }
  }
  r.ranks = r.running * ranks_per_trial;
  return r;
}

}  // namespace

std::string RenderStatus(const wire::StatusReply& s, const std::string& source, int ranks_per_trial) {
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
  const double now = WallSeconds();
  const double left = EstimateSecondsLeft(s, now);
  if (SweepRunning(s)) {
    out << "eta        " << (left < 0 ? "unknown until a trial reports" : "at most " + Duration(left) + " (if no trial is pruned early)")
        << "\n";
  }
  const ResourceUse use = Resources(s, ranks_per_trial, now);
  out << "resources  " << use.running << " trial" << (use.running == 1 ? "" : "s") << " running";
  if (ranks_per_trial > 0) out << " on " << use.ranks << " ranks";
  out << ", " << Fixed(use.samples_per_sec, 1) << " samples/s";
  if (ranks_per_trial > 0) out << "; " << Duration(use.rank_seconds) << " of rank time so far";
  out << "\n";
  if (auto best = BestTrial(s)) {
    out << "best       trial " << best->id() << ": " << s.metric() << " " << Fixed(best->metric(), 4)
        << "  (" << ParamsText(best->hparams()) << ")\n";
  } else {
    out << "best       none yet\n";
  }
  std::string slurm;
  for (const auto& t : s.trials()) {
    if (!t.slurm_step().empty() && StateOf(t) == TrialState::kRunning) {
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
    row.push_back(ParamsText(t.hparams()));
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

std::string RenderBest(const wire::StatusReply& s, const std::string& checkpoint, const std::optional<TestScore>& test) {
  auto best = BestTrial(s);
  if (!best) return "no trial has a " + s.metric() + " yet\n";
  std::ostringstream out;
  out << "best trial " << best->id() << " of sweep " << s.sweep() << " (" << best->state() << ")\n";
  out << "  " << s.metric() << "  " << Fixed(best->metric(), 4)
      << (best->infeasible() ? "  (infeasible: a language is below metric.min_language_f1)" : "") << "\n";
  // Per-token scoring (masked_lm, plain tags) computes no F1; a classifier
  // with any correct prediction has F1 > 0.
  const bool token_level = best->macro_f1() == 0 && best->accuracy() > 0;
  const auto regression = ObjectiveMetrics(MetricFamily::kRegression);
  if (s.metric() != "valid_loss" && std::count(regression.begin(), regression.end(), s.metric()) > 0) {
    // Regression: no accuracy or F1; its errors and correlations are in the evaluations and the test report.
    out << "  valid mse " << Fixed(best->valid_loss(), 4) << "\n";
    out << "  hyperparameters  " << ParamsText(best->hparams()) << "\n";
    if (!checkpoint.empty()) out << "  checkpoint       " << checkpoint << "\n";
    return out.str();
  }
  if (token_level) {
    out << "  token accuracy " << Fixed(best->accuracy(), 4) << "   valid_loss " << Fixed(best->valid_loss(), 4)
        << "\n";
  } else if (s.metric() == "micro_f1") {  // multi-label: accuracy is exact match
    out << "  exact match " << Fixed(best->accuracy(), 4) << "   macro_f1 " << Fixed(best->macro_f1(), 4)
        << "   valid_loss " << Fixed(best->valid_loss(), 4) << "\n";
  } else {
    out << "  accuracy " << Fixed(best->accuracy(), 4) << "   macro_f1 " << Fixed(best->macro_f1(), 4)
        << "   valid_loss " << Fixed(best->valid_loss(), 4) << "\n";
  }
  out << "  hyperparameters  " << ParamsText(best->hparams()) << "\n";
  if (!checkpoint.empty()) out << "  checkpoint       " << checkpoint << "\n";
  if (test && test->trial == best->id() && test->entity_f1) {
    out << "  test split       entity f1 " << Fixed(*test->entity_f1, 4) << "   word accuracy "
        << Fixed(test->accuracy, 4) << "   (" << test->examples << " held-out words; per type: " << test->report
        << ")\n";
  } else if (test && test->trial == best->id() && test->micro_f1) {
    out << "  test split       micro f1 " << Fixed(*test->micro_f1, 4) << "   macro_f1 " << Fixed(test->macro_f1, 4)
        << "   exact match " << Fixed(test->accuracy, 4) << "   (" << test->examples
        << " held-out examples; per label: " << test->report << ")\n";
  } else if (test && test->trial == best->id()) {
    out << "  test split       accuracy " << Fixed(test->accuracy, 4) << "   macro_f1 " << Fixed(test->macro_f1, 4)
        << "   (" << test->examples << " held-out examples; per class: " << test->report << ")\n";
  }
  out << "\n";
  // Entity tags: each language's F1 is its spans', its count its words.
  // Multi-label: each language's F1 is its decisions' (micro), its accuracy exact match.
  const bool spans = s.metric() == "f1" || s.metric() == "precision" || s.metric() == "recall";
  const bool sets = s.metric() == "micro_f1";
  TextTable table(token_level ? std::vector<std::string>{"LANG", "ACCURACY", "TOKENS"}
                  : spans     ? std::vector<std::string>{"LANG", "ENTITY-F1", "WORD-ACCURACY", "WORDS"}
                  : sets      ? std::vector<std::string>{"LANG", "MICRO-F1", "EXACT-MATCH", "EXAMPLES"}
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

std::string StatusJson(const wire::StatusReply& s, const std::string& source, int ranks_per_trial) {
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
  const double now = WallSeconds();
  const double left = EstimateSecondsLeft(s, now);
  j["eta_seconds"] = left < 0 ? nlohmann::json(nullptr) : nlohmann::json(left);
  const ResourceUse use = Resources(s, ranks_per_trial, now);
  j["resources"] = {{"running_trials", use.running},
                    {"ranks_per_trial", ranks_per_trial > 0 ? nlohmann::json(ranks_per_trial) : nlohmann::json(nullptr)},
                    {"ranks_busy", ranks_per_trial > 0 ? nlohmann::json(use.ranks) : nlohmann::json(nullptr)},
                    {"samples_per_sec", use.samples_per_sec},
                    {"rank_seconds", ranks_per_trial > 0 ? nlohmann::json(use.rank_seconds) : nlohmann::json(nullptr)}};
  return j.dump(2) + "\n";
}

std::string TrialsJson(const wire::StatusReply& s) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& t : s.trials()) arr.push_back(nlohmann::json::parse(ToJson(t)));
  return nlohmann::json{{"sweep", s.sweep()}, {"metric", s.metric()}, {"trials", arr}}.dump(2) + "\n";
}

std::string BestJson(const wire::StatusReply& s, const std::string& checkpoint, int k,
                     const std::optional<TestScore>& test) {
  auto best = BestTrial(s);
  nlohmann::json j = {{"sweep", s.sweep()}, {"metric", s.metric()}, {"maximize", s.maximize()}};
  j["best"] = best ? nlohmann::json::parse(ToJson(*best)) : nlohmann::json(nullptr);
  j["checkpoint"] = checkpoint.empty() ? nlohmann::json(nullptr) : nlohmann::json(checkpoint);
  j["test"] = nullptr;
  if (test && best && test->trial == best->id()) {
    j["test"] = {{"accuracy", test->accuracy}, {"macro_f1", test->macro_f1}, {"examples", test->examples},
                 {"report", test->report}};
  }
  nlohmann::json top = nlohmann::json::array();
  for (const auto& t : RankTrials(s)) {
    if (static_cast<int>(top.size()) >= k) break;
    top.push_back(nlohmann::json::parse(ToJson(t)));
  }
  j["top"] = top;
  return j.dump(2) + "\n";
}

}  // namespace polysweep
