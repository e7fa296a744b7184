#include "cli/inspect.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/checkpoint_manifest.h"
#include "common/files.h"
#include "cli/table.h"
#include "cli/views.h"

namespace polysweep {
namespace {

using nlohmann::json;

json Number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json LanguagesJson(const std::vector<wire::LanguageScore>& langs) {
  json out = json::array();
  for (const auto& l : langs) {
    out.push_back({{"lang", l.lang()}, {"f1", l.f1()}, {"accuracy", l.accuracy()}, {"count", l.count()}});
  }
  return out;
}

json SummaryJson(const wire::TrialSummary& t) { return json::parse(ToJson(t)); }

// Masked-LM sweeps score tokens: accuracy, no F1.
bool TokenLevel(const std::vector<wire::LanguageScore>& langs) {
  bool any_accuracy = false;
  for (const auto& l : langs) {
    if (l.f1() != 0) return false;
    any_accuracy |= l.accuracy() > 0;
  }
  return any_accuracy;
}

// The evaluation with the best objective (the sweep's orientation).
const JournalEvaluationPoint* BestEvaluation(const JournalTrialHistory& h, bool maximize) {
  const JournalEvaluationPoint* best = nullptr;
  for (const auto& e : h.evaluations) {
    if (!std::isfinite(e.objective)) continue;
    if (!best || (maximize ? e.objective > best->objective : e.objective < best->objective)) best = &e;
  }
  return best;
}

std::string Clock(double at) {
  if (at <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(at);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string CsvNumber(double v, bool present = true) {
  if (!present || !std::isfinite(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

}  // namespace

TrialFiles FindTrialFiles(const std::string& dir, uint64_t trial) {
  TrialFiles f;
  const std::string log = dir + "/trial-" + std::to_string(trial) + ".log";
  if (std::filesystem::exists(log)) f.log_path = std::filesystem::absolute(log).string();
  const std::string trial_dir = dir + "/checkpoints/trial-" + std::to_string(trial);
  for (const auto& path : ListCheckpoints(trial_dir)) {
    CheckpointEntry c;
    c.dir = std::filesystem::absolute(path).string();
    auto text = ReadFile(path + "/MANIFEST.json");
    auto m = text.ok() ? ParseCheckpointManifest(*text, path) : StatusOr<CheckpointManifest>(text.status());
    if (m.ok()) {
      c.step = m->step;
      c.score = m->score;
      c.wall_time = m->wall_time;
    } else {
      c.complete = false;
      c.step = std::stoll(std::filesystem::path(path).filename().string().substr(5));
    }
    f.checkpoints.push_back(c);
  }
  const std::string best = BestCheckpoint(trial_dir);
  if (!best.empty()) f.best_checkpoint = std::filesystem::absolute(best).string();
  return f;
}

std::string RenderDescribe(const wire::StatusReply& s, const wire::TrialSummary& t, const JournalTrialHistory& h,
                           const TrialFiles& files) {
  std::ostringstream out;
  out << "trial " << t.id() << " of sweep " << s.sweep() << ": " << t.state();
  if (!t.reason().empty()) out << " (" << t.reason() << ")";
  out << "\n";
  out << "  hyperparameters  " << ParamsText(t.hparams()) << "\n";
  out << "  attempt          " << t.attempt() << " (" << h.restarts << " restart" << (h.restarts == 1 ? "" : "s")
      << " after failures)\n";
  out << "  progress         step " << t.step() << "/" << t.max_steps();
  if (t.step() > 0) out << ", loss " << Fixed(t.loss(), 4) << ", " << Fixed(t.samples_per_sec(), 1) << " samples/s";
  out << "\n";
  if (t.started_at() > 0) {
    const double end = t.finished_at() > 0 ? t.finished_at() : WallSeconds();
    out << "  time             started " << Clock(t.started_at()) << ", " << Duration(end - t.started_at())
        << (t.finished_at() > 0 ? " until " + Clock(t.finished_at()) : " so far") << "\n";
  }
  if (t.has_metric()) {
    out << "  " << s.metric() << (s.metric().size() < 16 ? std::string(17 - s.metric().size(), ' ') : " ")
        << Fixed(t.metric(), 4) << " (newest evaluation)";
    if (const auto* best = BestEvaluation(h, s.maximize())) {
      out << ", best " << Fixed(best->objective, 4) << " at step " << best->step;
    }
    if (t.infeasible()) out << ", infeasible: a language is below metric.min_language_f1";
    out << "\n";
  }
  if (!t.outcome().empty()) out << "  outcome          " << t.outcome() << (t.error().empty() ? "" : ": " + t.error()) << "\n";
  if (!t.slurm_step().empty()) out << "  slurm            step " << t.slurm_step() << "\n";
  out << "  log              " << (files.log_path.empty() ? "none yet" : files.log_path) << "\n";

  out << "\ncheckpoints\n";
  if (files.checkpoints.empty()) {
    out << "  none\n";
  } else {
    TextTable table({"STEP", "SCORE", "WRITTEN", "DIRECTORY"});
    for (const auto& c : files.checkpoints) {
      std::string dir = c.dir + (c.dir == files.best_checkpoint ? "  (best)" : "");
      table.Add({std::to_string(c.step), c.score ? Fixed(*c.score, 4) : "-", c.complete ? Clock(c.wall_time) : "unfinished",
                 dir});
    }
    out << table.Render();
  }

  if (!h.evaluations.empty()) {
    out << "\nevaluations\n";
    TextTable table({"ATTEMPT", "STEP", "VALID_LOSS", "ACCURACY", "MACRO_F1", s.metric(), "WHEN"});
    for (const auto& e : h.evaluations) {
      table.Add({std::to_string(e.attempt), std::to_string(e.step), Fixed(e.loss, 4), Fixed(e.accuracy, 4),
                 Fixed(e.macro_f1, 4),
                 std::isfinite(e.objective) ? Fixed(e.objective, 4) + (e.feasible ? "" : "!") : "-",
                 Clock(e.at) + (e.final ? " (final)" : "")});
    }
    out << table.Render();
    const JournalEvaluationPoint& last = h.evaluations.back();
    out << "\nlanguages at step " << last.step << " (attempt " << last.attempt << ")\n";
    const bool token_level = TokenLevel(last.languages);
    TextTable langs(token_level ? std::vector<std::string>{"LANG", "ACCURACY", "TOKENS"}
                                : std::vector<std::string>{"LANG", "MACRO-F1", "ACCURACY", "EXAMPLES"});
    std::vector<wire::LanguageScore> sorted = last.languages;
    std::sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) {
      return token_level ? a.accuracy() > b.accuracy() : a.f1() > b.f1();
    });
    for (const auto& l : sorted) {
      if (token_level) langs.Add({l.lang(), Fixed(l.accuracy(), 4), std::to_string(l.count())});
      else langs.Add({l.lang(), Fixed(l.f1(), 4), Fixed(l.accuracy(), 4), std::to_string(l.count())});
    }
    out << langs.Render();
  }

  if (!h.decisions.empty()) {
    out << "\nscheduler decisions\n";
    TextTable table({"ATTEMPT", "KIND", "STEP", "SCORE", "STOP_AT", "WHY"});
    for (const auto& d : h.decisions) {
      table.Add({std::to_string(d.attempt), DecisionKindName(d.kind), std::to_string(d.step), std::isfinite(d.score) ? Fixed(d.score, 4) : "-",
                 std::to_string(d.stop_at), d.detail});
    }
    out << table.Render();
  }

  out << "\nhistory\n";
  TextTable table({"WHEN", "ATTEMPT", "FROM", "TO", "WHY"});
  for (const auto& tr : h.transitions) {
    table.Add({Clock(tr.at), std::to_string(tr.attempt), tr.from, tr.to, tr.reason});
  }
  out << table.Render();
  return out.str();
}

std::string DescribeJson(const wire::StatusReply& s, const wire::TrialSummary& t, const JournalTrialHistory& h,
                         const TrialFiles& files) {
  json j = SummaryJson(t);
  j["sweep"] = s.sweep();
  j["metric_name"] = s.metric();
  j["maximize"] = s.maximize();
  j["restarts"] = h.restarts;
  j["log"] = files.log_path.empty() ? json(nullptr) : json(files.log_path);
  j["best_checkpoint"] = files.best_checkpoint.empty() ? json(nullptr) : json(files.best_checkpoint);
  json cps = json::array();
  for (const auto& c : files.checkpoints) {
    cps.push_back({{"dir", c.dir}, {"step", c.step}, {"score", c.score ? Number(*c.score) : json(nullptr)},
                   {"written_at", c.complete ? json(c.wall_time) : json(nullptr)}, {"complete", c.complete}});
  }
  j["checkpoints"] = cps;
  json evals = json::array();
  for (const auto& e : h.evaluations) {
    evals.push_back({{"attempt", e.attempt}, {"step", e.step}, {"valid_loss", e.loss}, {"accuracy", e.accuracy},
                     {"macro_f1", e.macro_f1}, {"objective", Number(e.objective)}, {"final", e.final},
                     {"feasible", e.feasible}, {"at", e.at}, {"languages", LanguagesJson(e.languages)}});
  }
  j["evaluations"] = evals;
  const auto* best = BestEvaluation(h, s.maximize());
  j["best_evaluation"] = best ? json{{"attempt", best->attempt}, {"step", best->step}, {"objective", best->objective}}
                              : json(nullptr);
  json progress = json::array();
  for (const auto& p : h.progress) {
    progress.push_back({{"attempt", p.attempt}, {"step", p.step}, {"loss", Number(p.loss)}, {"lr", p.lr},
                        {"samples_per_sec", p.samples_per_sec}, {"at", p.at}});
  }
  j["progress"] = progress;
  json decisions = json::array();
  for (const auto& d : h.decisions) {
    decisions.push_back({{"attempt", d.attempt}, {"kind", DecisionKindName(d.kind)}, {"step", d.step}, {"score", Number(d.score)},
                         {"stop_at", d.stop_at}, {"detail", d.detail}});
  }
  j["decisions"] = decisions;
  json transitions = json::array();
  for (const auto& tr : h.transitions) {
    transitions.push_back({{"at", tr.at}, {"attempt", tr.attempt}, {"from", tr.from}, {"to", tr.to}, {"reason", tr.reason}});
  }
  j["transitions"] = transitions;
  return j.dump(2) + "\n";
}


std::string RenderTopTrials(const wire::StatusReply& s, int k) {
  auto ranked = RankTrials(s);
  if (ranked.empty()) return "no trial has a " + s.metric() + " yet\n";
  if (static_cast<int>(ranked.size()) > k) ranked.resize(k);
  TextTable table({"RANK", "ID", "STATE", s.metric(), "ACCURACY", "MACRO_F1", "WORST LANGUAGE", "HYPERPARAMETERS"});
  int rank = 0;
  for (const auto& t : ranked) {
    std::string worst = "-";
    const wire::LanguageScore* w = nullptr;
    const bool token_level = t.macro_f1() == 0 && t.accuracy() > 0;
    for (const auto& l : t.languages()) {
      const double v = token_level ? l.accuracy() : l.f1();
      if (!w || v < (token_level ? w->accuracy() : w->f1())) w = &l;
    }
    if (w) worst = w->lang() + " " + Fixed(token_level ? w->accuracy() : w->f1(), 4);
    table.Add({std::to_string(++rank), std::to_string(t.id()), t.state(),
               Fixed(t.metric(), 4) + (t.infeasible() ? "!" : ""), Fixed(t.accuracy(), 4), Fixed(t.macro_f1(), 4), worst,
               ParamsText(t.hparams())});
  }
  return "best " + std::to_string(ranked.size()) + " of sweep " + s.sweep() + " by " + s.metric() + " (" +
         (s.maximize() ? "max" : "min") + ")\n" + table.Render();
}

Status SortTrials(wire::StatusReply* s, const std::string& key, bool descending) {
  auto* trials = s->mutable_trials();
  std::set<std::string> hparams;
  for (const auto& t : *trials) {
    for (const auto& [k, v] : t.hparams()) hparams.insert(k);
  }
  static const std::vector<std::string> kKeys = {"id", "state", "attempt", "step", "loss", "metric", "samples_per_sec"};
  const bool known = std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end();
  if (!known && !hparams.count(key)) {
    std::string all;
    for (const auto& k : kKeys) all += (all.empty() ? "" : ", ") + k;
    for (const auto& k : hparams) all += ", " + k;
    return Status::Error("--sort " + key + ": no such column (sort by " + all + ")");
  }
  // A value to order by: a number when the column is numeric, else text.
  auto value = [&](const wire::TrialSummary& t) -> std::pair<double, std::string> {
    if (key == "id") return {static_cast<double>(t.id()), ""};
    if (key == "state") return {0, t.state()};
    if (key == "attempt") return {static_cast<double>(t.attempt()), ""};
    if (key == "step") return {static_cast<double>(t.step()), ""};
    if (key == "loss") return {t.step() > 0 ? t.loss() : NAN, ""};
    if (key == "samples_per_sec") return {t.samples_per_sec() > 0 ? t.samples_per_sec() : NAN, ""};
    if (key == "metric") {
      // Best first by default, as the sweep's mode ranks them.
      if (!t.has_metric() || !std::isfinite(t.metric())) return {NAN, ""};
      return {s->maximize() ? -t.metric() : t.metric(), ""};
    }
    auto it = t.hparams().find(key);
    if (it == t.hparams().end()) return {NAN, ""};
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (end && *end == '\0' && !it->second.empty()) return {v, ""};
    return {0, it->second};
  };
  std::stable_sort(trials->begin(), trials->end(), [&](const auto& a, const auto& b) {
    auto va = value(a), vb = value(b);
    // Trials without the value go last whichever the direction.
    if (std::isnan(va.first) != std::isnan(vb.first)) return std::isnan(vb.first);
    if (std::isnan(va.first)) return a.id() < b.id();
    const bool less = va.first != vb.first ? va.first < vb.first : va.second < vb.second;
    const bool greater = va.first != vb.first ? va.first > vb.first : va.second > vb.second;
    if (!less && !greater) return a.id() < b.id();
    return descending ? greater : less;
  });
  return Status::Ok();
}

std::string ExportCsv(const wire::StatusReply& s) {
  std::set<std::string> hparams, langs;
  for (const auto& t : s.trials()) {
    for (const auto& [k, v] : t.hparams()) hparams.insert(k);
    for (const auto& l : t.languages()) langs.insert(l.lang());
  }
  std::vector<std::string> header = {"id", "state", "attempt", "outcome", "reason", "step", "max_steps", "loss",
                                     "samples_per_sec", "metric", "accuracy", "macro_f1", "valid_loss", "infeasible",
                                     "started_at", "finished_at"};
  for (const auto& k : hparams) header.push_back(k);
  for (const auto& l : langs) header.push_back("f1_" + l);
  for (const auto& l : langs) header.push_back("acc_" + l);
  std::ostringstream out;
  for (size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << CsvField(header[i]);
  out << "\n";
  for (const auto& t : s.trials()) {
    const bool m = t.has_metric();
    std::vector<std::string> row = {std::to_string(t.id()), t.state(), std::to_string(t.attempt()), t.outcome(),
                                    t.reason(), std::to_string(t.step()), std::to_string(t.max_steps()),
                                    CsvNumber(t.loss(), t.step() > 0), CsvNumber(t.samples_per_sec(), t.step() > 0),
                                    CsvNumber(t.metric(), m), CsvNumber(t.accuracy(), m), CsvNumber(t.macro_f1(), m),
                                    CsvNumber(t.valid_loss(), m), m ? (t.infeasible() ? "true" : "false") : "",
                                    CsvNumber(t.started_at(), t.started_at() > 0),
                                    CsvNumber(t.finished_at(), t.finished_at() > 0)};
    for (const auto& k : hparams) {
      auto it = t.hparams().find(k);
      row.push_back(it == t.hparams().end() ? "" : it->second);
    }
    std::map<std::string, const wire::LanguageScore*> by_lang;
    for (const auto& l : t.languages()) by_lang[l.lang()] = &l;
    for (const auto& l : langs) row.push_back(by_lang.count(l) ? CsvNumber(by_lang[l]->f1()) : "");
    for (const auto& l : langs) row.push_back(by_lang.count(l) ? CsvNumber(by_lang[l]->accuracy()) : "");
    for (size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << CsvField(row[i]);
    out << "\n";
  }
  return out.str();
}

std::string ExportJsonl(const wire::StatusReply& s) {
  std::string out;
  for (const auto& t : s.trials()) {
    json j = SummaryJson(t);
    j["sweep"] = s.sweep();
    j["metric_name"] = s.metric();
    if (!t.has_metric()) {
      for (const char* k : {"metric", "accuracy", "macro_f1", "valid_loss", "infeasible"}) j[k] = nullptr;
    }
    out += j.dump() + "\n";
  }
  return out;
}

}  // namespace polysweep
