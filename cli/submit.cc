#include "cli/submit.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cli/sbatch_template.h"
#include "launcher/choose.h"
#include "launcher/command.h"

namespace polysweep {

namespace fs = std::filesystem;

namespace {

std::string FlagName(const std::string& flag) { return flag.substr(0, flag.find('=')); }

// Partitions of the cluster and, for `partition`, its nodes and CPUs per node.
struct PartitionInfo {
  std::vector<std::string> names;
  int nodes = 0, cpus_per_node = 0;
};

StatusOr<PartitionInfo> QueryPartitions(const std::string& partition) {
  auto all = RunCommand({"sinfo", "--noheader", "--format=%R"}, 15000);
  if (!all.ok()) return all.status().With("asking Slurm for its partitions");
  if (all->exit_code != 0) return Status::Error("sinfo failed: " + all->err);
  PartitionInfo info;
  std::istringstream lines(all->out);
  for (std::string name; lines >> name;) info.names.push_back(name);
  std::vector<std::string> query = {"sinfo", "--noheader", "--format=%D %c"};
  if (!partition.empty()) query.push_back("--partition=" + partition);
  auto part = RunCommand(query, 15000);
  if (part.ok() && part->exit_code == 0) {
    std::istringstream in(part->out);
    for (int nodes = 0, cpus = 0; in >> nodes >> cpus;) {
      info.nodes += nodes;
      info.cpus_per_node = std::max(info.cpus_per_node, cpus);
    }
  }
  return info;
}

}  // namespace

std::vector<std::string> SweepJobFlags(const SweepConfig& config, const SubmitOptions& options,
                                       const std::string& output_dir) {
  const bool per_trial_jobs = ResolveLauncher(config.trial) == "sbatch";
  // Trials as steps of this job: room for max_concurrent of them at once.
  // Trials as jobs of their own: the coordinator needs one task.
  const int tasks = per_trial_jobs ? 1 : config.trial.ranks * config.max_concurrent;
  std::vector<std::string> flags = {"--job-name=polysweep-" + config.name, "--ntasks=" + std::to_string(tasks),
                                    "--cpus-per-task=" + std::to_string(per_trial_jobs ? 1 : config.trial.threads_per_rank),
                                    "--output=" + output_dir + "/slurm-%j.out"};
  if (options.nodes > 0) flags.push_back("--nodes=" + std::to_string(options.nodes));
  if (options.gpus_per_node > 0) flags.push_back("--gpus-per-node=" + std::to_string(options.gpus_per_node));
  if (!options.time.empty()) flags.push_back("--time=" + options.time);
  if (!options.partition.empty()) flags.push_back("--partition=" + options.partition);
  return flags;
}

std::string RenderSweepScript(const SweepConfig& config, const SubmitOptions& options, const std::string& output_dir) {
  std::map<std::string, std::string> set;
  std::vector<std::string> order;
  for (const auto& f : SweepJobFlags(config, options, output_dir)) {
    set[FlagName(f)] = f;
    order.push_back(FlagName(f));
  }
  std::istringstream in(kSweepSbatchTemplate);
  std::ostringstream out;
  bool in_directives = false, placed = false;
  for (std::string line; std::getline(in, line);) {
    const bool directive = line.rfind("#SBATCH ", 0) == 0;
    if (directive) {
      in_directives = true;
      const std::string name = FlagName(line.substr(8));
      if (auto it = set.find(name); it != set.end()) {
        line = "#SBATCH " + it->second;
        set.erase(it);
      }
    } else if (in_directives && !placed) {
      // After the template's directives: the ones it did not have.
      for (const auto& name : order) {
        if (set.count(name)) out << "#SBATCH " << set[name] << "\n";
      }
      placed = true;
    }
    out << line << "\n";
  }
  return out.str();
}

StatusOr<Submission> SubmitSweep(const std::string& config_path, const SweepConfig& config,
                                 const SubmitOptions& options) {
  if (!OnPath("sbatch")) {
    return Status::Error("sbatch is not on PATH: install slurm-client on this login node, or run the sweep here "
                         "with `polysweep sweep " + config_path + "`");
  }
  if (config.trial.launcher == "mpirun" && options.nodes > 1) {
    return Status::Error(config_path + ": trial.launcher: mpirun starts trials on the first node only; use srun "
                         "(or auto) for a job of " + std::to_string(options.nodes) + " nodes");
  }
  auto partitions = QueryPartitions(options.partition);
  if (!partitions.ok()) return partitions.status();
  if (!options.partition.empty()) {
    bool known = false;
    std::string have;
    for (const auto& p : partitions->names) {
      known |= p == options.partition;
      have += (have.empty() ? "" : ", ") + p;
    }
    if (!known) return Status::Error("--partition: Slurm has no partition \"" + options.partition + "\" (it has: " + have + ")");
  }
  const int cpus_per_trial = config.trial.ranks * config.trial.threads_per_rank;
  const int nodes = options.nodes > 0 ? std::min(options.nodes, partitions->nodes) : partitions->nodes;
  const int capacity = nodes * partitions->cpus_per_node;
  if (capacity > 0 && cpus_per_trial > capacity) {
    return Status::Error(config_path + ": trial.ranks x trial.threads_per_rank is " + std::to_string(config.trial.ranks) +
                         " x " + std::to_string(config.trial.threads_per_rank) + " = " + std::to_string(cpus_per_trial) +
                         " CPUs, more than the " + std::to_string(capacity) + " CPUs of " + std::to_string(nodes) +
                         " node(s) in partition " + (options.partition.empty() ? "(default)" : options.partition));
  }

  const std::string output_dir = fs::absolute(config.output_dir).lexically_normal().string();
  std::error_code ec;
  const bool created = !fs::exists(output_dir);
  fs::create_directories(output_dir, ec);
  if (ec) return Status::Error(output_dir + ": cannot create output directory: " + ec.message());
  Submission sub;
  sub.script_path = output_dir + "/sweep.sbatch";
  const std::string previous = fs::exists(sub.script_path) ? sub.script_path + ".previous" : "";
  if (!previous.empty()) fs::rename(sub.script_path, previous, ec);
  auto undo = [&] {
    fs::remove(sub.script_path, ec);
    if (!previous.empty()) fs::rename(previous, sub.script_path, ec);
    if (created) fs::remove_all(output_dir, ec);
  };
  {
    std::ofstream script(sub.script_path);
    script << RenderSweepScript(config, options, output_dir);
    if (!script) {
      undo();
      return Status::Error(sub.script_path + ": cannot write the job script");
    }
  }
  fs::permissions(sub.script_path, fs::perms::owner_exec, fs::perm_options::add, ec);
  // The job runs this very binary, on the absolute config path.
  setenv("POLYSWEEP", options.polysweep.c_str(), 1);
  auto out = RunCommand({"sbatch", "--parsable", sub.script_path, fs::absolute(config_path).string()}, 60000);
  if (!out.ok() || out->exit_code != 0) {
    undo();
    return Status::Error("sbatch refused the sweep: " + (out.ok() ? out->err + out->out : out.status().message()));
  }
  if (!previous.empty()) fs::remove(previous, ec);
  sub.job_id = out->out.substr(0, out->out.find_first_of(";\n"));
  sub.output_path = output_dir + "/slurm-" + sub.job_id + ".out";
  for (const auto& f : SweepJobFlags(config, options, output_dir)) {
    if (f.rfind("--ntasks=", 0) == 0) sub.tasks = std::stoi(f.substr(9));
  }
  return sub;
}

}  // namespace polysweep
