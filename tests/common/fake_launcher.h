// A TrialLauncher that starts nothing: every trial "runs" until it is
// killed, or until the test says the first n launched exited cleanly
// (`exited`). For driving a real Coordinator (socket, journal, scheduler) with
// simulated ranks in tests and benchmarks.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "launcher/launcher.h"

namespace polysweep::testing_util {

class FakeProcess : public TrialProcess {
 public:
  // Exits with code 0 once `exited` exceeds `index` (its launch, from 0).
  FakeProcess(const std::atomic<int>* exited, int index) : exited_(exited), index_(index) {}
  std::optional<ExitInfo> Poll() override {
    if (!exit_ && exited_->load() > index_) exit_ = ExitInfo::Code(0);
    return exit_;
  }
  ExitInfo Kill(int) override {
    exit_ = ExitInfo::Signal(15);
    return *exit_;
  }
  int pid() const override { return 0; }
  std::string handle() const override { return "fake"; }

 private:
  const std::atomic<int>* exited_;
  int index_;
  std::optional<ExitInfo> exit_;
};

class FakeLauncher : public TrialLauncher {
 public:
  StatusOr<std::unique_ptr<TrialProcess>> Launch(const LaunchSpec& spec) override {
    argv = spec.worker_argv;
    return std::unique_ptr<TrialProcess>(new FakeProcess(&exited, launched++));
  }
  std::unique_ptr<TrialProcess> Adopt(const std::string&, const std::vector<std::string>&) override { return nullptr; }
  std::string name() const override { return "fake"; }
  std::vector<std::string> argv;  // of the last launch (read by the Run thread's owner after it)
  std::atomic<int> launched{0};
  std::atomic<int> exited{0};  // the first `exited` launched have exited with code 0
};

}  // namespace polysweep::testing_util
