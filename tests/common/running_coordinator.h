// A real Coordinator (socket, journal, scheduler) on a thread of its own,
// whose trials "run" through FakeLauncher until it stops: for driving the
// coordinator with simulated ranks in tests and benchmarks.
#pragma once

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "cli/config_names.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/manifest.h"
#include "coordinator/coordinator.h"
#include "coordinator/journal.h"
#include "coordinator/searcher.h"
#include "tests/common/fake_launcher.h"

namespace polysweep::testing_util {

class RunningCoordinator {
 public:
  // Creates the journal at `journal_path`, binds and starts running.
  // `clock`, when given, is the coordinator's (it must outlive it): a test
  // moves a FakeClock to pass a timeout without waiting for it.
  static StatusOr<std::unique_ptr<RunningCoordinator>> Start(const SweepConfig& config, const Manifest& manifest,
                                                              const std::string& journal_path,
                                                              const Clock* clock = nullptr) {
    std::unique_ptr<RunningCoordinator> c(new RunningCoordinator(config, manifest));
    auto journal = Journal::Create(journal_path, c->config_);
    if (!journal.ok()) return journal.status();
    c->journal_ = std::move(*journal);
    auto searcher = MakeSearcher(c->config_.search, c->config_.budget.max_trials);
    if (!searcher.ok()) return searcher.status();
    c->searcher_ = std::move(*searcher);
    CoordinatorOptions options;
    options.worker_binary = "polysweep-worker";
    options.stop = &c->stop_;
    options.poll_interval_ms = 20;
    options.clock = clock;
    c->coordinator_ = std::make_unique<Coordinator>(c->config_, c->manifest_, c->journal_.get(), &c->launcher_,
                                                    c->searcher_.get(), options);
    if (Status s = c->coordinator_->Bind(); !s.ok()) return s;
    c->run_ = std::thread([p = c.get()] { p->run_status_ = p->coordinator_->Run(); });
    return c;
  }
  // A coordinator of the sweep `name` in `dir` (a one-line data file, two
  // labels, one language, CURVE off): `tail` is its YAML after name,
  // output_dir and data.
  static StatusOr<std::unique_ptr<RunningCoordinator>> StartInDir(const std::string& dir, const std::string& name,
                                                                   const std::string& tail,
                                                                   const Clock* clock = nullptr) {
    std::ofstream(dir + "/data.jsonl") << "{}\n";
    auto config = ParseSweepConfig("name: " + name + "\noutput_dir: " + dir + "\ndata: {files: [" + dir +
                                       "/data.jsonl]}\nsecurity: {curve: off}\n" + tail,
                                   name + ".yaml", RegisteredConfigNames());
    if (!config.ok()) return config.status();
    Manifest manifest;
    manifest.labels = {"a", "b"};
    manifest.languages = {"de"};
    manifest.counts["de"] = {100, 10, 10};
    return Start(*config, manifest, dir + "/journal.db", clock);
  }
  ~RunningCoordinator() { Stop(); }

  std::string endpoint() const { return coordinator_->endpoint(); }
  // True once `n` trials were launched; false if `timeout` passed first.
  bool WaitLaunched(int n, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (launcher_.launched < n) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  // The processes of the first `n` launched attempts exit cleanly.
  void EndLaunched(int n) { launcher_.exited = n; }
  // Stops the coordinator (trials stay as they are, interrupted) and returns Run's status.
  Status Stop() {
    stop_ = true;
    if (run_.joinable()) run_.join();
    return run_status_;
  }

 private:
  RunningCoordinator(const SweepConfig& config, const Manifest& manifest) : config_(config), manifest_(manifest) {}

  SweepConfig config_;
  Manifest manifest_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<Searcher> searcher_;
  FakeLauncher launcher_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<Coordinator> coordinator_;
  Status run_status_;
  std::thread run_;
};

}  // namespace polysweep::testing_util
