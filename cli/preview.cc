#include "cli/preview.h"

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
    out << ": the budget is " << c.budget.epochs
        << " epochs, so each trial's steps depend on its batch size and the data\n";
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
