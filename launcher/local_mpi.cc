#include <unistd.h>

#include <cstring>
#include <string>

#include "launcher/group_process.h"
#include "launcher/launcher.h"

namespace polysweep {

std::string ExitInfo::Describe() const {
  if (!cause.empty()) return cause;
  if (adopted && signal == 0) return "ended (exit status unknown: launched by an earlier coordinator)";
  if (signal != 0) return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

std::vector<std::string> LocalMpiArgv(const std::string& mpirun, const LaunchSpec& spec) {
  std::vector<std::string> argv = {mpirun, "-np", std::to_string(spec.ranks),
                                   // Ranks set their own threads; do not pin them to one core.
                                   "--bind-to", "none", "--oversubscribe",
                                   // A rank that exits non-zero ends the trial.
                                   "--mca", "orte_abort_on_non_zero_status", "1"};
  for (const auto& [key, value] : spec.env) {
    argv.push_back("-x");
    argv.push_back(key + "=" + value);
  }
  argv.insert(argv.end(), spec.worker_argv.begin(), spec.worker_argv.end());
  return argv;
}

namespace {

class LocalMpiLauncher : public TrialLauncher {
 public:
  explicit LocalMpiLauncher(std::string mpirun) : mpirun_(std::move(mpirun)) {}

  StatusOr<std::unique_ptr<TrialProcess>> Launch(const LaunchSpec& spec) override {
    std::vector<std::string> env;
    if (::geteuid() == 0) env = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"};
    auto pid = SpawnGroupLeader(LocalMpiArgv(mpirun_, spec), env, spec.log_path,
                                "install openmpi-bin or put mpirun on PATH");
    if (!pid.ok()) return pid.status();
    // "local:HOST:PGID": mpirun leads its own process group on HOST.
    return std::unique_ptr<TrialProcess>(new GroupProcess(*pid, "local:" + HostName() + ":" + std::to_string(*pid)));
  }

  std::unique_ptr<TrialProcess> Adopt(const std::string& handle, const std::vector<std::string>& args) override {
    return AdoptGroup(handle, "local", args);
  }

  std::string name() const override { return "local-mpirun"; }

 private:
  std::string mpirun_;
};

}  // namespace

std::unique_ptr<TrialLauncher> MakeLocalMpiLauncher(std::string mpirun) {
  return std::make_unique<LocalMpiLauncher>(std::move(mpirun));
}

}  // namespace polysweep
