// kill -9 a process while it writes checkpoints, N times (POLYSWEEP_CHECKPOINT_KILLS,
// default 20): no checkpoint left behind is corrupt, the newest good one is
// what a restart loads, and the step never goes back.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "checkpoint_writer.h"
#include "tests/common/solo_communicator.h"
#include "tests/common/test_models.h"
#include "worker/checkpoint.h"

extern char** environ;

namespace polysweep {
namespace {

namespace fs = std::filesystem;

pid_t StartWriter(const std::string& dir) {
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string flag = testing_util::kCheckpointWriterFlag;
  std::string arg = dir;
  char* argv[] = {self.data(), flag.data(), arg.data(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, environ) != 0) return -1;
  return pid;
}

int64_t NewestStep(const std::string& dir) {
  auto all = ListCheckpoints(dir);
  return all.empty() ? 0 : std::stoll(fs::path(all[0]).filename().string().substr(5));
}

bool HasTemporaryDirectory(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".tmp" || e.path().extension() == ".del") return true;
  }
  return false;
}

TEST(CheckpointKill, AWriterKilledMidSaveNeverLeavesACorruptCheckpoint) {
  const char* env = std::getenv("POLYSWEEP_CHECKPOINT_KILLS");
  const int kills = env ? std::atoi(env) : 20;
  std::string tmpl = ::testing::TempDir() + "checkpoint_kill.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;
  testing_util::SoloCommunicator comm;
  std::mt19937 rng(7);
  int mid_write = 0, corrupt = 0;
  int64_t last_step = 0;
  for (int i = 0; i < kills; ++i) {
    SCOPED_TRACE("kill " + std::to_string(i + 1));
    const pid_t writer = StartWriter(dir);
    ASSERT_GT(writer, 0);
    // Once this run has committed a checkpoint of its own (start-up takes
    // about half a second), kill it at a random point of its write cycle
    // (about 100 ms per checkpoint).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (NewestStep(dir) <= last_step) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the writer committed nothing";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng)));
    ASSERT_EQ(kill(writer, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(writer, &status, 0), writer);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself: exit " << WEXITSTATUS(status);
    mid_write += HasTemporaryDirectory(dir);
    for (const std::string& c : ListCheckpoints(dir)) {
      auto m = VerifyCheckpoint(c);
      if (!m.ok()) {
        ++corrupt;
        ADD_FAILURE() << c << ": " << m.status().message();
      }
    }
    // What a restart loads: the newest checkpoint, whole.
    EncoderClassifier model(testing_util::TinyShape(8000, 4, 1, 256, 32, 0.0));
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
    for (auto& p : model->parameters()) p.mutable_grad() = torch::zeros_like(p);
    opt.step();
    Checkpointer reader(dir, 2, &comm, Logger("kill test"));
    auto restored = reader.Restore(model, opt);
    ASSERT_TRUE(restored.ok()) << restored.status().message();
    ASSERT_TRUE(restored->has_value()) << "no checkpoint after " << i + 1 << " runs";
    const int64_t step = (*restored)->step;
    EXPECT_GT(step, last_step) << "a restart went back";
    for (const auto& p : model->parameters()) {
      ASSERT_TRUE(torch::all(p == static_cast<double>(step)).item<bool>()) << "files of another step in step-" << step;
    }
    last_step = step;
  }
  std::cout << "checkpoint kill: " << kills << " kills, " << mid_write << " landed during a write, " << corrupt
            << " corrupt checkpoints, " << last_step << " checkpoints committed\n";
  EXPECT_EQ(corrupt, 0);
  EXPECT_GT(mid_write, 0) << "no kill landed during a write: the test did not test anything";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
