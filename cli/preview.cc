#include "cli/preview.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "coordinator/scheduler.h"
#include "coordinator/searcher.h"
#include "cli/table.h"

namespace polysweep {
namespace {

// Rungs of one ASHA (bracket) fed `trials` trials of `max_steps` steps: the
// most trials that reach each rung (floor(n / rf) per rung, as synchronous
// successive halving) and the steps that costs.
void RenderRungs(std::ostream& out, const std::string& title, int64_t grace, double rf, int64_t max_steps,
                 int trials, int64_t* steps_out) {
  const std::vector<int64_t> rungs = RungSteps(grace, rf, max_steps);
  TextTable table({"RUNG", "STEP", "TRIALS AT MOST", "STEPS"});
  int64_t previous = 0, total = 0;
  double n = trials;
  for (size_t k = 0; k < rungs.size(); ++k) {
    const int at = std::max(1, static_cast<int>(std::floor(n)));
    const int64_t steps = static_cast<int64_t>(at) * (rungs[k] - previous);
    total += steps;
    table.Add({std::to_string(k), std::to_string(rungs[k]), std::to_string(at), std::to_string(steps)});
    previous = rungs[k];
    n /= rf;
  }
  if (!title.empty()) out << title << "\n";
  out << table.Render();
  *steps_out += total;
}

// Rungs in epochs of a ladder whose first is `grace` epochs, below `most`.
std::string EpochRungs(double grace, double rf, double most) {
  std::ostringstream out;
  for (double e = grace; e < most - 1e-9; e *= rf) out << (e == grace ? "" : ", ") << e;
  return out.str();
}

// A budget in epochs: a trial's steps follow from its batch size and the data.
std::string EpochBudget(const SweepConfig& c) {
  std::ostringstream out;
  bool searched = false;
  for (const ParamSpec& p : c.search.space.params) searched |= p.name == "epochs";
  if (searched) {
    out << ": each trial trains the epochs it draws (search.space.epochs)";
  } else {
    out << ": each trial trains " << (c.budget.epochs > 0 ? c.budget.epochs : c.training.epochs) << " epochs";
  }
  out << ", so its steps depend on its batch size and the data\n";
  const SchedulerConfig& s = c.scheduler;
  if (s.kind == SchedulerKind::kFifo) return out.str();
  if (s.unit == BudgetUnit::kSteps) {
    out << "(grace " << s.grace << " steps: trials of different batch sizes meet at a rung having seen different "
        << "amounts of data; scheduler.unit: epochs counts rungs in epochs)\n";
    return out.str();
  }
  const double most = MostEpochs(c);
  if (s.kind == SchedulerKind::kMedian) {
    out << "from epoch " << s.grace_epochs << ", a trial below the median of the others' running means stops\n";
  } else if (s.kind == SchedulerKind::kAsha) {
    out << "rungs at epochs " << EpochRungs(s.grace_epochs, s.reduction_factor, most)
        << ", then each trial's last; each trial stops at its own step for a rung, having seen the same data\n";
  } else {
    for (int b = 0; b < s.brackets; ++b) {
      out << "bracket " << b << ": rungs at epochs "
          << EpochRungs(s.grace_epochs * std::pow(s.reduction_factor, b), s.reduction_factor, most) << "\n";
    }
  }
  return out.str();
}

}  // namespace

StatusOr<std::string> RenderPreview(const SweepConfig& c) {
  auto searcher = MakeSearcher(c.search, c.budget.max_trials);
  if (!searcher.ok()) return searcher.status();
  std::ostringstream out;
  std::vector<std::string> header{"TRIAL"};
  for (const ParamSpec& p : c.search.space.params) header.push_back(p.name);
  TextTable trials(header);
  // TPE's proposals after its startup trials depend on their results.
  const bool adaptive = c.search.algorithm == SearchAlgorithm::kTpe;
  const int listed = adaptive ? std::min(c.search.startup_trials, c.budget.max_trials) : c.budget.max_trials;
  int n = 0;
  while (n < listed) {
    auto params = (*searcher)->Next();
    if (!params) break;
    std::vector<std::string> row{std::to_string(++n)};
    for (const ParamSpec& p : c.search.space.params) {
      auto it = params->find(p.name);
      row.push_back(it == params->end() ? "-" : it->second.ToString());
    }
    trials.Add(std::move(row));
  }
  if (adaptive) n = c.budget.max_trials;
  out << "sweep " << c.name << ": " << n << " trials (" << (*searcher)->name() << " search, seed " << c.search.seed
      << "), " << c.trial.ranks << " ranks each, " << c.max_concurrent << " at a time\n\n"
      << trials.Render();
  if (adaptive && listed < n) {
    out << "(trials " << listed + 1 << "-" << n << " are proposed by TPE from the results of those before)\n";
  }
  out << "\n";

  const SchedulerConfig& s = c.scheduler;
  out << "scheduler " << SchedulerKindName(s.kind);
  if (c.budget.max_steps == 0) {
    out << EpochBudget(c);
    return out.str();
  }
  const int64_t full = static_cast<int64_t>(n) * c.budget.max_steps;
  int64_t steps = 0;
  switch (s.kind) {
    case SchedulerKind::kFifo:
      out << ": every trial trains " << c.budget.max_steps << " steps\n";
      steps = full;
      break;
    case SchedulerKind::kMedian:
      out << ": from step " << s.grace << ", a trial whose best " << c.metric.name
          << " is below the median of the others' running means at that step stops (once " << s.min_trials
          << " others reported there); evaluations every " << c.budget.eval_every << " steps\n";
      steps = full;
      break;
    case SchedulerKind::kAsha:
      out << " (grace " << s.grace << ", reduction factor " << s.reduction_factor
          << "): trials pause at each rung with a checkpoint; the best 1/" << s.reduction_factor
          << " of a rung resume to the next"
          << (s.promote_in_place ? " (one promoted the moment it reaches its rung trains on without pausing)" : "")
          << "\n\n";
      RenderRungs(out, "", s.grace, s.reduction_factor, c.budget.max_steps, n, &steps);
      break;
    case SchedulerKind::kHyperband: {
      out << " (grace " << s.grace << ", reduction factor " << s.reduction_factor << ", " << s.brackets
          << " brackets): trials are dealt to brackets in turn; each bracket is an ASHA\n";
      for (int b = 0; b < s.brackets; ++b) {
        const int in_bracket = n / s.brackets + (b < n % s.brackets ? 1 : 0);
        if (in_bracket == 0) continue;
        const int64_t grace = std::llround(static_cast<double>(s.grace) * std::pow(s.reduction_factor, b));
        RenderRungs(out, "\nbracket " + std::to_string(b) + ": trials " + std::to_string(b + 1) + ", " +
                             std::to_string(b + 1 + s.brackets) + ", ... (" + std::to_string(in_bracket) + ")",
                    grace, s.reduction_factor, c.budget.max_steps, in_bracket, &steps);
      }
      break;
    }
  }
  if (s.kind == SchedulerKind::kAsha || s.kind == SchedulerKind::kHyperband) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "\nat most about %lld steps in all, %.1f%% of training every trial fully (%lld)\n",
                  static_cast<long long>(steps), 100.0 * static_cast<double>(steps) / static_cast<double>(full),
                  static_cast<long long>(full));
    out << buf;
  }
  return out.str();
}

}  // namespace polysweep
