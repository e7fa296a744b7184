// A launcher process (mpirun, srun) started as the leader of its own session
// and process group, and the TrialProcess that watches it: the building
// blocks the local and the srun backends share.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "launcher/launcher.h"

namespace polysweep {

// Starts `args` (argv[0] looked up on PATH) as the leader of a new session
// (and so of a new process group), stdin from /dev/null, stdout and stderr
// appended to `log_path`, with this process's environment plus `extra_env`
// ("KEY=VALUE"). An error
// names the program and `install_hint` when it cannot be executed.
StatusOr<pid_t> SpawnGroupLeader(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                                 const std::string& log_path, const std::string& install_hint);

std::string HostName();

// "PREFIX:HOST:PGID[:REST]" -> PGID when PREFIX and HOST match this host.
std::optional<pid_t> GroupFromHandle(const std::string& handle, const std::string& prefix, std::string* rest = nullptr);

// The child `pid` leading its own session: exit status from waitpid; no
// process of its session outlives it.
class GroupProcess : public TrialProcess {
 public:
  GroupProcess(pid_t pid, std::string handle) : pid_(pid), handle_(std::move(handle)) {}
  ~GroupProcess() override;
  std::optional<ExitInfo> Poll() override;
  ExitInfo Kill(int grace_ms) override;
  int pid() const override { return pid_; }
  std::string handle() const override { return handle_; }

 private:
  pid_t pid_;
  std::string handle_;
  std::optional<ExitInfo> exit_;
};

// A trial an earlier coordinator started on this host (its launcher's group
// and session): watched and ended through /proc, since only its (dead)
// parent could wait for it.
class AdoptedGroupProcess : public TrialProcess {
 public:
  AdoptedGroupProcess(pid_t pgid, std::string handle) : pgid_(pgid), handle_(std::move(handle)) {}
  ~AdoptedGroupProcess() override;
  std::optional<ExitInfo> Poll() override;
  ExitInfo Kill(int grace_ms) override;
  int pid() const override { return pgid_; }
  std::string handle() const override { return handle_; }

 private:
  pid_t pgid_;
  std::string handle_;
  std::optional<ExitInfo> exit_;
};

// The adopted group for `handle` when one of its live members runs `args`.
std::unique_ptr<TrialProcess> AdoptGroup(const std::string& handle, const std::string& prefix,
                                         const std::vector<std::string>& args);

}  // namespace polysweep
