// Tests of the Slurm launcher pieces that need no cluster: what srun and
// sbatch are asked to run, how a step's end is read from what srun and
// slurmstepd printed (lines captured from Slurm 22.05), and which launcher a
// sweep gets. The backends against a real Slurm are in tests/slurm.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "launcher/agent_pool.h"
#include "launcher/choose.h"
#include "launcher/command.h"
#include "launcher/launcher.h"
#include "launcher/slurm_output.h"

namespace polysweep {
namespace {

bool Has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

LaunchSpec Spec() {
  LaunchSpec spec;
  spec.ranks = 2;
  spec.threads_per_rank = 3;
  spec.worker_argv = {"/opt/polysweep-worker", "--sweep", "s", "--trial", "it's 7"};
  spec.env = {{"OMP_NUM_THREADS", "3"}};
  spec.log_path = "/tmp/trial-7.log";
  spec.name = "polysweep.s.t7.a0";
  return spec;
}

TEST(SrunArgv, AsksForAnExactStepOfTheTrialsRanksAndEndsItOnABadExit) {
  const auto argv = SrunArgv("srun", {"--partition=gpu"}, Spec());
  EXPECT_EQ(argv[0], "srun");
  for (const char* flag : {"--exact", "--kill-on-bad-exit=1", "--mpi=pmix", "--ntasks=2", "--cpus-per-task=3",
                           "--job-name=polysweep.s.t7.a0", "--partition=gpu"}) {
    EXPECT_TRUE(Has(argv, flag)) << flag;
  }
  // The worker's argv comes last and whole.
  ASSERT_GE(argv.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(argv.end() - 5, argv.end()), Spec().worker_argv);
}

TEST(SbatchArgv, WrapsOneSrunStepWithTheEnvironmentQuotedForTheShell) {
  const auto argv = SbatchArgv("sbatch", {"--time=10"}, Spec());
  for (const char* flag : {"--parsable", "--job-name=polysweep.s.t7.a0", "--ntasks=2", "--cpus-per-task=3",
                           "--output=/tmp/trial-7.log", "--open-mode=append", "--time=10"}) {
    EXPECT_TRUE(Has(argv, flag)) << flag;
  }
  EXPECT_EQ(argv.back(),
            "--wrap=export OMP_NUM_THREADS='3'; exec srun --kill-on-bad-exit=1 --mpi=pmix '/opt/polysweep-worker' "
            "'--sweep' 's' '--trial' 'it'\\''s 7'");
}

TEST(ParseSrunOutput, ARankThatExitsNonZeroIsTheCauseNotTheCancellationItTriggers) {
  const auto end = ParseSrunOutput(
      "training...\n"
      "srun: error: vm: task 1: Exited with exit code 3\n"
      "srun: launch/slurm: _step_signal: Terminating StepId=1.1\n"
      "slurmstepd-vm: error: *** STEP 1.1 ON vm CANCELLED AT 2026-11-23T15:48:37 ***\n"
      "srun: error: vm: task 0: Terminated\n"
      "srun: Force Terminated StepId=1.1\n");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->exit_code, 3);
  EXPECT_EQ(end->signal, 0);
  EXPECT_EQ(end->cause, "rank 1 exited with code 3 (Slurm step 1.1)");
}

TEST(ParseSrunOutput, AnAbortedLaunchIsAFailureThatNeverStartedEvenWhenSrunExitsZero) {
  // As Slurm 22.05 printed it when a step's launch raced the previous step's end.
  const auto end = ParseSrunOutput(
      "srun: launch/slurm: launch_p_step_launch: StepId=1.1 aborted before step completely launched.\n"
      "srun: Job step aborted: Waiting up to 7 seconds for job step to finish.\n"
      "srun: error: task 0 launch failed: Unspecified error\n"
      "srun: error: task 1 launch failed: Unspecified error\n");
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->ok());
  EXPECT_TRUE(end->not_started);
  EXPECT_EQ(end->Describe(), "Slurm could not launch rank 0: Unspecified error (Slurm step 1.1)");
}

TEST(ParseSrunOutput, ARankKilledByASignalNamesIt) {
  const auto end = ParseSrunOutput(
      "srun: error: vm: task 1: Killed\n"
      "slurmstepd-vm: error: *** STEP 1.2 ON vm CANCELLED AT 2026-11-23T15:48:37 ***\n");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->signal, SIGKILL);
  EXPECT_EQ(end->cause, "rank 1: Killed (Slurm step 1.2)");
}

TEST(ParseSrunOutput, ScancelOfTheStepIsACancellation) {
  const auto end = ParseSrunOutput(
      "slurmstepd-vm: error: *** STEP 1.0 ON vm CANCELLED AT 2026-11-23T15:48:37 ***\n"
      "srun: Job step aborted: Waiting up to 7 seconds for job step to finish.\n"
      "srun: error: vm: tasks 0-1: Killed\n");
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->ok());
  EXPECT_EQ(end->cause, "Slurm step 1.0 cancelled");
}

TEST(ParseSrunOutput, TheTimeLimitAndPreemptionAreNamed) {
  auto end = ParseSrunOutput(
      "slurmstepd-vm: error: *** STEP 1.4 ON vm CANCELLED AT 2026-11-23T15:50:03 DUE TO TIME LIMIT ***\n");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->cause, "Slurm step 1.4 cancelled due to time limit");
  end = ParseSrunOutput("slurmstepd-vm: error: *** JOB 9 ON vm CANCELLED AT 2026-11-23T15:50:03 DUE TO PREEMPTION ***\n");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->cause, "Slurm job 9 cancelled due to preemption");
}

TEST(ParseSrunOutput, AnOutOfMemoryKillIsSaidFirst) {
  const auto end = ParseSrunOutput(
      "slurmstepd-vm: error: Detected 1 oom-kill event(s) in StepId=5.0. Some of your processes may have been killed.\n"
      "srun: error: vm: task 0: Out Of Memory\n");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->cause.rfind("out of memory (Slurm oom-kill)", 0), 0u) << end->cause;
}

TEST(ParseSrunOutput, NothingAboutAnEndIsNoEnd) {
  EXPECT_FALSE(ParseSrunOutput("step 10 loss 0.5\nsrun: error: vm: task 0: Exited with exit code 0\n"));
  EXPECT_FALSE(ParseSrunOutput(""));
}

TEST(SignalFromName, MapsStrsignalTextBack) {
  EXPECT_EQ(SignalFromName("Killed"), SIGKILL);
  EXPECT_EQ(SignalFromName("Terminated"), SIGTERM);
  EXPECT_EQ(SignalFromName("Segmentation fault"), SIGSEGV);
  EXPECT_EQ(SignalFromName("no such signal"), 0);
}

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (auto [k, v] : vars) {
      const char* old = std::getenv(k);
      saved_.push_back({k, old ? std::optional<std::string>(old) : std::nullopt});
      if (v) setenv(k, v, 1);
      else unsetenv(k);
    }
  }
  ~ScopedEnv() {
    for (auto& [k, v] : saved_) {
      if (v) setenv(k.c_str(), v->c_str(), 1);
      else unsetenv(k.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(ChooseLauncher, AutoIsSrunInsideAnAllocationAndMpirunOutside) {
  TrialResources trial;
  {
    ScopedEnv env({{"SLURM_JOB_ID", nullptr}});
    EXPECT_EQ(ResolveLauncher(trial), "mpirun");
  }
  ScopedEnv env({{"SLURM_JOB_ID", "12"}});
  EXPECT_EQ(ResolveLauncher(trial), "srun");
  trial.launcher = "mpirun";
  EXPECT_EQ(ResolveLauncher(trial), "mpirun");
}

TEST(ChooseLauncher, ATrialWithMoreRanksThanTheAllocationIsRefusedBeforeAnythingStarts) {
  // An executable named srun on PATH is all the choice looks for.
  const std::string bin = ::testing::TempDir() + "polysweep-fake-srun-" + std::to_string(getpid());
  std::filesystem::create_directories(bin);
  std::ofstream(bin + "/srun") << "#!/bin/sh\nexit 0\n";
  std::filesystem::permissions(bin + "/srun", std::filesystem::perms::owner_all);
  ScopedEnv env({{"SLURM_JOB_ID", "12"}, {"SLURM_NTASKS", "2"}, {"PATH", bin.c_str()}});
  TrialResources trial;
  trial.ranks = 4;
  auto launcher = MakeTrialLauncher(trial, "mpirun");
  ASSERT_FALSE(launcher.ok());
  EXPECT_NE(launcher.status().message().find("trial.ranks is 4 but Slurm job 12 has 2 tasks"), std::string::npos)
      << launcher.status().message();
  trial.ranks = 2;
  EXPECT_TRUE(MakeTrialLauncher(trial, "mpirun").ok());
  std::filesystem::remove_all(bin);
}

TEST(ChooseLauncher, MpirunMissingFromPathIsNamedBeforeAnythingStarts) {
  ScopedEnv env({{"PATH", "/nonexistent"}, {"SLURM_JOB_ID", nullptr}});
  TrialResources trial;
  auto launcher = MakeTrialLauncher(trial, "mpirun");
  ASSERT_FALSE(launcher.ok());
  EXPECT_EQ(launcher.status().message(),
            "mpirun is not on PATH (trial.launcher: auto, outside a Slurm job); install openmpi-bin, or give its path "
            "with --mpirun");
  trial.launcher = "mpirun";
  launcher = MakeTrialLauncher(trial, "/nonexistent/mpirun");
  ASSERT_FALSE(launcher.ok());
  EXPECT_NE(launcher.status().message().find("/nonexistent/mpirun is not an executable file (trial.launcher: mpirun)"),
            std::string::npos)
      << launcher.status().message();
  // Agents bring their own mpirun: the coordinator's host needs none.
  trial.launcher = "agents";
  auto agents = MakeTrialLauncher(trial, "mpirun");
  ASSERT_TRUE(agents.ok());
  EXPECT_NE(agents->agents, nullptr);  // the pool the coordinator hands claims from, no downcast needed
  EXPECT_EQ(static_cast<TrialLauncher*>(agents->agents), agents->launcher.get());
}

TEST(ChooseLauncher, SrunOrSbatchMissingFromPathIsNamed) {
  ScopedEnv env({{"PATH", "/nonexistent"}});
  TrialResources trial;
  trial.launcher = "sbatch";
  auto launcher = MakeTrialLauncher(trial, "mpirun");
  ASSERT_FALSE(launcher.ok());
  EXPECT_EQ(launcher.status().message(), "sbatch is not on PATH (trial.launcher: sbatch); install slurm-client");
  trial.launcher = "srun";
  launcher = MakeTrialLauncher(trial, "mpirun");
  ASSERT_FALSE(launcher.ok());
  EXPECT_NE(launcher.status().message().find("srun is not on PATH"), std::string::npos);
}

// Every name the launchers register (and the config therefore accepts) is one
// MakeTrialLauncher makes: with srun, sbatch and mpirun on PATH, each builds.
TEST(ChooseLauncher, EveryRegisteredLauncherIsMade) {
  const std::string bin = ::testing::TempDir() + "polysweep-fake-launchers-" + std::to_string(getpid());
  std::filesystem::create_directories(bin);
  for (const char* tool : {"srun", "sbatch", "mpirun"}) {
    std::ofstream(bin + "/" + tool) << "#!/bin/sh\nexit 0\n";
    std::filesystem::permissions(bin + "/" + tool, std::filesystem::perms::owner_all);
  }
  ScopedEnv env({{"PATH", bin.c_str()}, {"SLURM_JOB_ID", nullptr}});
  ASSERT_FALSE(LauncherNames().empty());
  for (const std::string& name : LauncherNames()) {
    TrialResources trial;
    trial.launcher = name;
    auto launcher = MakeTrialLauncher(trial, "mpirun");
    ASSERT_TRUE(launcher.ok()) << name << ": " << launcher.status().message();
    EXPECT_NE(launcher->launcher, nullptr) << name;
  }
  TrialResources unknown;
  unknown.launcher = "pbs";
  auto refused = MakeTrialLauncher(unknown, "mpirun");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("unknown launcher \"pbs\""), std::string::npos);
  std::filesystem::remove_all(bin);
}

TEST(RunCommand, CapturesOutputAndExitCodeAndBoundsTheTime) {
  auto ok = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->out, "out\n");
  EXPECT_EQ(ok->err, "err\n");
  EXPECT_EQ(ok->exit_code, 3);
  auto missing = RunCommand({"/nonexistent/tool"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot run /nonexistent/tool"), std::string::npos);
  auto slow = RunCommand({"sleep", "10"}, 200);
  ASSERT_FALSE(slow.ok());
  EXPECT_NE(slow.status().message().find("did not finish"), std::string::npos);
}

}  // namespace
}  // namespace polysweep
