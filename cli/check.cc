#include "cli/check.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>

#include "cli/config_names.h"
#include "common/checkpoint_manifest.h"
#include "common/config.h"
#include "common/objective.h"
#include "cli/check_facts.h"
#include "cli/check_processes.h"
#include "coordinator/journal.h"
#include "coordinator/searcher.h"
#include "cli/table.h"

namespace polysweep {
namespace {

using check::IsFinalState;
using check::SweepFacts;
using check::TrialFacts;
using EvaluationFact = JournalEvaluationPoint;
using ProgressFact = JournalProgressPoint;

// Scores as checkpoints store them: JSON has no infinity, so an infeasible
// -inf is written as the lowest double.
bool SameScore(double a, double b) {
  auto norm = [](double v) { return v <= std::numeric_limits<double>::lowest() ? -INFINITY : v; };
  a = norm(a);
  b = norm(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(a));
}

// The step in "... at step N..." of a transition's reason, or -1.
int64_t StepInReason(const std::string& reason, const std::string& prefix) {
  const std::regex re(prefix + " (\\d+)");
  std::smatch m;
  if (!std::regex_search(reason, m, re)) return -1;
  return std::stoll(m[1].str());
}

class Checker {
 public:
  Checker(const SweepFacts& facts, const SweepConfig& config, std::string dir, CheckReport* report)
      : facts_(facts), config_(config), dir_(std::move(dir)), report_(report) {}

  void Run(const CheckOptions& options) {
    CheckIssued();
    for (const auto& [id, t] : facts_.trials) {
      CheckStates(t);
      CheckStoredOnce(t);
      CheckSteps(t);
      CheckEnd(t);
      CheckCheckpoints(t);
      CheckDecisions(t);
    }
    if (options.processes) CheckProcesses();
  }

 private:
  void Add(const TrialFacts* t, uint32_t attempt, std::string what) {
    CheckViolation v;
    v.trial = t ? t->id : 0;
    v.attempt = attempt;
    v.what = std::move(what);
    if (t) v.events = Events(*t, attempt);
    report_->violations.push_back(std::move(v));
  }

  // The trial's transitions and decisions near `attempt` (all of them for
  // 0), and what each of those attempts reported.
  std::vector<std::string> Events(const TrialFacts& t, uint32_t attempt) const {
    auto near = [attempt](uint32_t a) { return attempt == 0 || (a + 1 >= attempt && a <= attempt + 1); };
    std::vector<std::pair<double, std::string>> events;
    auto at = [this](double when) { return "+" + Fixed(when - facts_.created_at, 1) + " s"; };
    for (const auto& tr : t.transitions) {
      if (near(tr.attempt)) {
        events.push_back({tr.at, at(tr.at) + "  attempt " + std::to_string(tr.attempt) + "  " + tr.from + " -> " +
                                     tr.to + ": " + tr.reason});
      }
    }
    for (const auto& d : t.decisions) {
      if (near(d.attempt)) {
        events.push_back({d.at, at(d.at) + "  attempt " + std::to_string(d.attempt) + "  decision " + DecisionKindName(d.kind) +
                                    " at step " + std::to_string(d.step) + ": " + d.detail});
      }
    }
    std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (auto& [when, line] : events) out.push_back(std::move(line));
    std::map<uint32_t, std::vector<std::string>> steps;
    for (const auto& p : t.progress) {
      if (near(p.attempt)) steps[p.attempt].push_back(std::to_string(p.step));
    }
    for (const auto& [a, list] : steps) {
      out.push_back("attempt " + std::to_string(a) + " progress at steps " + Abbreviate(list));
    }
    std::map<uint32_t, std::vector<std::string>> evals;
    for (const auto& e : t.evaluations) {
      if (near(e.attempt)) evals[e.attempt].push_back(std::to_string(e.step) + (e.final ? " (final)" : ""));
    }
    for (const auto& [a, list] : evals) {
      out.push_back("attempt " + std::to_string(a) + " evaluations at steps " + Abbreviate(list));
    }
    return out;
  }

  static std::string Abbreviate(const std::vector<std::string>& items) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (items.size() > 12 && i == 5) {
        out += ", ... (" + std::to_string(items.size() - 10) + " more)";
        i = items.size() - 5;
      }
      out += (out.empty() ? "" : ", ") + items[i];
    }
    return out;
  }

  double Score(const EvaluationFact& e) const {
    return ObjectiveScore(config_.metric, ObjectiveValue{e.objective, e.feasible, ""});
  }

  static const EvaluationFact* EvaluationAt(const TrialFacts& t, int64_t step) {
    for (const auto& e : t.evaluations) {
      if (e.step == step) return &e;
    }
    return nullptr;
  }

  // The checkpoint step the first stored progress of `attempt` says it resumed from.
  static std::optional<int64_t> ResumedFrom(const TrialFacts& t, uint32_t attempt) {
    for (const auto& p : t.progress) {
      if (p.attempt == attempt) return p.resumed_from;
    }
    return std::nullopt;
  }

  void CheckIssued() {
    const bool finished = facts_.state == SweepState::kFinished;
    uint64_t expected_id = 1;
    for (const auto& [id, t] : facts_.trials) {
      if (id != expected_id++) Add(&t, 0, "trial ids are not 1.." + std::to_string(facts_.trials.size()));
    }
    const int max = config_.budget.max_trials;
    if (static_cast<int>(facts_.trials.size()) > max) {
      Add(nullptr, 0, std::to_string(facts_.trials.size()) + " trials issued; budget.max_trials is " + std::to_string(max));
    }
    auto searcher = MakeSearcher(config_.search, max);
    if (!searcher.ok()) return Add(nullptr, 0, "the journaled config's search: " + searcher.status().message());
    // Searchers other than TPE issue the same trials whatever the results;
    // TPE's first startup_trials are random draws as well.
    const bool adaptive = config_.search.algorithm == SearchAlgorithm::kTpe;
    const int fixed = adaptive ? config_.search.startup_trials : max;
    int expected = 0;
    for (auto params = (*searcher)->Next(); params; params = (*searcher)->Next()) {
      ++expected;
      if (expected > fixed) continue;
      auto it = facts_.trials.find(static_cast<uint64_t>(expected));
      if (it == facts_.trials.end()) continue;
      if (it->second.hparams != ParamsToJson(*params)) {
        Add(&it->second, 0, "issued with " + it->second.hparams + " where the search gives " + ParamsToJson(*params) +
                                " (a trial issued twice or skipped before it?)");
      }
    }
    if (finished && static_cast<int>(facts_.trials.size()) != expected) {
      Add(nullptr, 0, "the sweep finished with " + std::to_string(facts_.trials.size()) + " trials; its search and "
                      "budget allow " + std::to_string(expected));
    }
  }

  void CheckStates(const TrialFacts& t) {
    int finals = 0;
    for (size_t i = 0; i < t.transitions.size(); ++i) {
      const auto& tr = t.transitions[i];
      if (!IsFinalState(tr.to)) continue;
      if (++finals == 2) Add(&t, tr.attempt, "ended twice: " + t.transitions[i].to + " after an earlier end");
      if (i + 1 < t.transitions.size()) {
        Add(&t, t.transitions[i + 1].attempt, "moved to " + t.transitions[i + 1].to + " after it ended " + tr.to);
      }
    }
    const std::string state = TrialStateName(t.state);
    if (!t.transitions.empty() && t.transitions.back().to != state) {
      Add(&t, t.attempt, "its state is " + state + " but its last transition is to " + t.transitions.back().to);
    }
    if (facts_.state == SweepState::kFinished && !IsFinal(t.state)) {
      Add(&t, t.attempt, "the sweep finished with this trial " + state);
    }
  }

  void CheckStoredOnce(const TrialFacts& t) {
    std::map<int64_t, int> progress, evaluations;
    for (const auto& p : t.progress) {
      if (++progress[p.step] == 2) Add(&t, p.attempt, "progress at step " + std::to_string(p.step) + " stored twice");
    }
    for (const auto& e : t.evaluations) {
      if (++evaluations[e.step] == 2) Add(&t, e.attempt, "evaluation at step " + std::to_string(e.step) + " stored twice");
    }
  }

  void CheckSteps(const TrialFacts& t) {
    std::map<uint32_t, int64_t> last;  // each attempt's last stored step
    for (const auto& p : t.progress) {
      auto it = last.find(p.attempt);
      if (it != last.end() && p.step <= it->second) {
        Add(&t, p.attempt, "progress went back from step " + std::to_string(it->second) + " to " + std::to_string(p.step));
      }
      last[p.attempt] = p.step;
      const auto resumed = ResumedFrom(t, p.attempt);
      if (p.resumed_from && resumed && *p.resumed_from != *resumed) {
        Add(&t, p.attempt, "progress says the attempt resumed from step " + std::to_string(*p.resumed_from) +
                               " and also from " + std::to_string(*resumed));
      } else if (p.resumed_from && p.step <= *p.resumed_from) {
        Add(&t, p.attempt, "progress at step " + std::to_string(p.step) + ", not after the checkpoint at step " +
                               std::to_string(*p.resumed_from) + " the attempt resumed from");
      }
    }
    for (const auto& e : t.evaluations) {
      const auto resumed = ResumedFrom(t, e.attempt);
      if (resumed && *resumed && e.step < *resumed) {
        Add(&t, e.attempt, "evaluation at step " + std::to_string(e.step) + ", before the checkpoint at step " +
                               std::to_string(*resumed) + " the attempt resumed from");
      }
    }
    // An attempt that follows a pause, a promotion or a preemption starts
    // from the checkpoint committed there: none was lost or skipped.
    // Synthetic trials keep no checkpoints: theirs start over.
    const bool synthetic = config_.trial.synthetic_step_ms > 0;
    auto expect = [&](uint32_t attempt, int64_t step, const std::string& why) {
      const auto resumed = ResumedFrom(t, attempt);
      if (synthetic) step = step >= 0 ? 0 : step;
      if (step >= 0 && resumed && *resumed != step) {
        Add(&t, attempt, "resumed from step " + std::to_string(*resumed) + " after " + why + " at step " +
                             std::to_string(step) + " (its checkpoint lost?)");
      }
    };
    for (const auto& tr : t.transitions) {
      if (tr.to == TrialStateName(TrialState::kPreempted)) expect(tr.attempt + 1, StepInReason(tr.reason, "checkpoint committed at step"), "a preemption");
    }
    for (const auto& d : t.decisions) {
      if (d.kind == DecisionKind::kPromote || d.kind == DecisionKind::kResume) {
        expect(d.attempt + 1, d.step, std::string("a ") + DecisionKindName(d.kind));
      }
    }
  }

  void CheckEnd(const TrialFacts& t) {
    if (t.state != TrialState::kCompleted) return;
    int64_t final_step = config_.budget.max_steps;
    if (!t.progress.empty() && t.progress.back().max_steps > 0) final_step = t.progress.back().max_steps;
    for (const auto& d : t.decisions) {
      if (d.kind == DecisionKind::kEarlyStop) final_step = d.step;
    }
    if (final_step <= 0) return;  // an epoch budget with no progress: nothing to compare with
    const bool early = final_step < (t.progress.empty() ? final_step : t.progress.back().max_steps);
    const EvaluationFact* e = EvaluationAt(t, final_step);
    if (!e) {
      std::string have;
      for (const auto& x : t.evaluations) have += (have.empty() ? "" : ", ") + std::to_string(x.step);
      Add(&t, t.attempt, "completed without an evaluation at its final step " + std::to_string(final_step) +
                             " (evaluations at " + (have.empty() ? "no step" : have) + ")");
    } else if (!early && !e->final) {
      Add(&t, e->attempt, "its evaluation at the final step " + std::to_string(final_step) + " is not marked final");
    }
    const bool logged = config_.budget.log_every > 0;
    const bool has_progress =
        std::any_of(t.progress.begin(), t.progress.end(), [&](const ProgressFact& p) { return p.step == final_step; });
    if (logged && !early && !has_progress) {
      const int64_t reached = t.progress.empty() ? 0 : t.progress.back().step;
      Add(&t, t.attempt, "completed without progress at its final step " + std::to_string(final_step) +
                             " (the last at step " + std::to_string(reached) + ")");
    }
    for (const auto& x : t.evaluations) {
      if (x.step > final_step) Add(&t, x.attempt, "evaluation at step " + std::to_string(x.step) + ", after its end");
    }
  }

  void CheckCheckpoints(const TrialFacts& t) {
    const std::string trial_dir = dir_ + "/checkpoints/trial-" + std::to_string(t.id);
    std::optional<double> best_checkpoint;
    for (const std::string& dir : ListCheckpoints(trial_dir)) {
      ++report_->facts;
      auto m = VerifyCheckpoint(dir);
      if (!m.ok()) {
        Add(&t, 0, "checkpoint does not verify: " + m.status().message());
        continue;
      }
      if (!m->score) continue;
      if (!best_checkpoint || *m->score > *best_checkpoint) best_checkpoint = *m->score;
      const EvaluationFact* e = EvaluationAt(t, m->step);
      if (!e) {
        Add(&t, 0, dir + " holds a score (" + Fixed(*m->score, 6) + ") for step " + std::to_string(m->step) +
                       ", where the journal has no evaluation");
      } else if (!SameScore(Score(*e), *m->score)) {
        Add(&t, e->attempt, dir + " was kept for score " + Fixed(*m->score, 6) + "; the journal's objective at step " +
                                std::to_string(m->step) + " scores " + Fixed(Score(*e), 6));
      }
    }
    if (t.state == TrialState::kCompleted && config_.trial.keep_best_checkpoints > 0 && best_checkpoint) {
      double best = -INFINITY;
      for (const auto& e : t.evaluations) {
        if (!std::isnan(Score(e))) best = std::max(best, Score(e));
      }
      if (!SameScore(best, *best_checkpoint)) {
        Add(&t, 0, "its best checkpoint scores " + Fixed(*best_checkpoint, 6) + " but its best journaled objective scores " +
                       Fixed(best, 6));
      }
    }
    if (t.state == TrialState::kPaused && !t.transitions.empty()) {
      const int64_t step = StepInReason(t.transitions.back().reason, "paused at step");
      const std::string dir = trial_dir + "/step-" + std::to_string(step);
      if (step >= 0 && !VerifyCheckpoint(dir).ok()) {
        Add(&t, t.attempt, "paused at step " + std::to_string(step) + " but its checkpoint " + dir + " is gone or broken");
      }
    }
  }

  void CheckDecisions(const TrialFacts& t) {
    std::set<int64_t> rungs;
    for (const auto& d : t.decisions) {
      const bool scored =
          d.kind == DecisionKind::kRung || d.kind == DecisionKind::kContinue || d.kind == DecisionKind::kEarlyStop;
      if (d.kind == DecisionKind::kRung) rungs.insert(d.step);
      if (!scored && d.kind != DecisionKind::kPrune) {
        if (d.kind == DecisionKind::kPromote && !rungs.count(d.step)) {
          Add(&t, d.attempt, "promoted from step " + std::to_string(d.step) + ", where it never paused at a rung");
        }
        continue;
      }
      const EvaluationFact* e = EvaluationAt(t, d.step);
      if (!e) {
        Add(&t, d.attempt, std::string("the scheduler's ") + DecisionKindName(d.kind) + " decision at step " +
                               std::to_string(d.step) + " refers to no evaluation in the journal");
      } else if (scored && !SameScore(Score(*e), d.score)) {
        Add(&t, d.attempt, std::string("the scheduler's ") + DecisionKindName(d.kind) + " decision at step " +
                               std::to_string(d.step) + " used score " +
                               Fixed(d.score, 6) + "; the journaled evaluation scores " + Fixed(Score(*e), 6));
      }
    }
  }

  void CheckProcesses() {
    for (const auto& p : check::SweepProcesses(facts_.name)) {
      auto it = facts_.trials.find(p.trial);
      if (it == facts_.trials.end()) {
        Add(nullptr, 0, "process " + std::to_string(p.pid) + " runs trial " + std::to_string(p.trial) +
                            ", which the journal does not know: " + p.command);
        continue;
      }
      const TrialFacts& t = it->second;
      if (t.state == TrialState::kRunning && p.attempt == t.attempt) continue;
      Add(&t, p.attempt, "process " + std::to_string(p.pid) + " of attempt " + std::to_string(p.attempt) +
                             " is alive; the trial is " + TrialStateName(t.state) + " at attempt " + std::to_string(t.attempt) + ": " +
                             p.command);
    }
  }

  const SweepFacts& facts_;
  const SweepConfig& config_;
  std::string dir_;
  CheckReport* report_;
};

}  // namespace

StatusOr<CheckReport> CheckSweep(const std::string& dir, const CheckOptions& options) {
  CheckReport report;
  report.journal = dir + "/journal.db";
  if (!std::filesystem::is_regular_file(report.journal)) return Status::Error(report.journal + ": no journal here");
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(report.journal.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Error(report.journal + ": cannot open: " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  auto facts = check::LoadSweepFacts(db, report.journal);
  sqlite3_close(db);
  if (!facts.ok()) return facts.status();
  auto config = ParseSweepConfig(facts->config, report.journal + " (the sweep's config)", RegisteredConfigNames());
  if (!config.ok()) return config.status();
  report.sweep = facts->name;
  report.state = SweepStateName(facts->state);
  report.trials = static_cast<int>(facts->trials.size());
  report.facts = facts->rows;
  Checker(*facts, *config, dir, &report).Run(options);
  return report;
}

std::string FormatCheckReport(const CheckReport& r) {
  std::string out = "check " + r.journal + ": sweep " + r.sweep + " (" + r.state + "), " + std::to_string(r.trials) +
                    " trials, " + std::to_string(r.facts) + " facts: ";
  if (r.violations.empty()) return out + "no violations\n";
  out += std::to_string(r.violations.size()) + " violation" + (r.violations.size() == 1 ? "" : "s") + "\n";
  for (const auto& v : r.violations) {
    out += "\n" + (v.trial ? "trial " + std::to_string(v.trial) : std::string("sweep")) +
           (v.attempt ? " attempt " + std::to_string(v.attempt) : "") + ": " + v.what + "\n";
    for (const auto& e : v.events) out += "    " + e + "\n";
  }
  return out;
}

std::string CheckReportJson(const CheckReport& r) {
  nlohmann::json j;
  j["journal"] = r.journal;
  j["sweep"] = r.sweep;
  j["state"] = r.state;
  j["trials"] = r.trials;
  j["facts"] = r.facts;
  j["violations"] = nlohmann::json::array();
  for (const auto& v : r.violations) {
    j["violations"].push_back({{"trial", v.trial}, {"attempt", v.attempt}, {"what", v.what}, {"events", v.events}});
  }
  return j.dump(2) + "\n";
}

}  // namespace polysweep
