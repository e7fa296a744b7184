// `polysweep submit CONFIG`: renders slurm/sweep.sbatch for a sweep (tasks =
// trial.ranks x max_concurrent, CPUs per task = trial.threads_per_rank, plus
// the user's nodes, GPUs, time and partition), checks it against the cluster
// before anything is submitted, and submits it with sbatch.
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace polysweep {

struct SubmitOptions {
  int nodes = 0;          // 0: let Slurm choose
  int gpus_per_node = 0;  // 0: none
  std::string time;       // Slurm time limit, e.g. "2:00:00"; "" = the partition's default
  std::string partition;  // "" = the cluster's default
  std::string polysweep;  // this binary: what the job runs
};

struct Submission {
  std::string job_id;
  std::string script_path;  // the rendered script, kept in the sweep's output directory
  std::string output_path;  // the job's stdout and stderr
  int tasks = 0;
};

// The script with its #SBATCH lines set for `config`; `config_path` is what it runs.
std::string RenderSweepScript(const SweepConfig& config, const SubmitOptions& options,
                              const std::string& output_dir);

// The #SBATCH flags RenderSweepScript sets, in order ("--ntasks=4", ...).
std::vector<std::string> SweepJobFlags(const SweepConfig& config, const SubmitOptions& options,
                                       const std::string& output_dir);

// Checks sbatch, the partition and the sweep's size against the cluster, then
// submits. Nothing is submitted (and no file is left) when a check fails.
StatusOr<Submission> SubmitSweep(const std::string& config_path, const SweepConfig& config,
                                 const SubmitOptions& options);

}  // namespace polysweep
