// Sweeps on a real single-node Slurm: submitted with `polysweep submit`
// (slurm/sweep.sbatch), trials as srun steps of the allocation, a step
// cancelled with scancel, a trial preempted with Slurm's signal, and the
// submissions that must be refused before anything reaches Slurm. Each test
// starts its own cluster under a fresh directory and stops it afterwards,
// checking that no job, step or process of it is left.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "command.h"
#include "journal_reader.h"
#include "processes.h"

namespace polysweep {
namespace {

using testing_util::ReadText;

namespace fs = std::filesystem;
using testing_util::JournalReader;
using testing_util::Quote;
using testing_util::RunCommand;
using Clock = std::chrono::steady_clock;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class SlurmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "a test Slurm cluster runs slurmd as root; run the tests as root";
    ASSERT_TRUE(fs::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
    dir_ = testing_util::FreshDir("slurm");
    cluster_ = dir_ + "/cluster";
    const int port = 20000 + (getpid() % 5000) * 2;
    auto up = RunCommand(std::string(POLYSWEEP_CLUSTER_SCRIPT) + " start " + Quote(cluster_) + " " +
                         std::to_string(port));
    ASSERT_EQ(up.exit_code, 0) << up.err << up.out;
    setenv("SLURM_CONF", (cluster_ + "/slurm.conf").c_str(), 1);
    started_ = true;
  }

  void TearDown() override {
    if (!started_) return;
    // Nothing of a finished test may still be queued or running.
    const std::string left = Trim(RunCommand("squeue --noheader --all --steps").out);
    const std::string jobs = Trim(RunCommand("squeue --noheader --all").out);
    auto stop = RunCommand(std::string(POLYSWEEP_CLUSTER_SCRIPT) + " stop " + Quote(cluster_));
    EXPECT_EQ(stop.exit_code, 0) << stop.err;
    EXPECT_EQ(jobs, "") << "jobs left behind";
    EXPECT_EQ(left, "") << "steps left behind";
    const auto ranks = testing_util::TrialProcesses(sweep_);
    EXPECT_TRUE(ranks.empty()) << "processes left behind:\n" << testing_util::DescribeProcesses(ranks);
    unsetenv("SLURM_CONF");
    // The cluster's state and the sweep's files are kept only for a failure.
    if (HasFailure()) {
      std::cout << "kept for the failure: " << dir_ << "\n";
    } else {
      fs::remove_all(dir_);
    }
  }

  // A sweep config of `trials` trials of 2 ranks, `steps` steps each.
  std::string WriteConfig(const std::string& name, int trials, int steps, int threads_per_rank = 1,
                          const std::string& launcher = "auto", int max_concurrent = 1) {
    sweep_ = name;
    run_ = dir_ + "/" + name;
    const std::string path = dir_ + "/" + name + ".yaml";
    std::ofstream(path) << testing_util::TinySweepHead(name, run_, POLYSWEEP_DEFAULT_DATA)
                        << "trial: {ranks: 2, threads_per_rank: " << threads_per_rank << ", checkpoint_every: 100, launcher: " << launcher << "}\n"
                        << "max_concurrent: " << max_concurrent << "\n"
                        << "search:\n"
                        << "  algorithm: random\n"
                        << "  seed: 5\n"
                        << "  space:\n"
                        << "    lr: {type: loguniform, low: 2.0e-3, high: 6.0e-3}\n"
                        << "training: {warmup_steps: 5}\n"
                        << "metric: {name: macro_f1}\n"
                        << "budget: {max_trials: " << trials << ", max_steps: " << steps
                        << ", eval_every: " << steps / 2 << ", log_every: 10}\n";
    return path;
  }

  // `polysweep submit`: the job id it printed.
  std::string Submit(const std::string& config) {
    auto r = RunCommand(std::string(POLYSWEEP_BIN) + " submit " + Quote(config));
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    const std::string marker = "as Slurm job ";
    const size_t at = r.out.find(marker);
    if (at == std::string::npos) return "";
    return r.out.substr(at + marker.size(), r.out.find(' ', at + marker.size()) - at - marker.size());
  }

  bool JobQueued(const std::string& job) {
    return !Trim(RunCommand("squeue --noheader --jobs=" + job + " --format=%i 2>/dev/null").out).empty();
  }

  // Waits up to `seconds` for the job to leave the queue.
  bool WaitForJobEnd(const std::string& job, int seconds) {
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < deadline) {
      if (!JobQueued(job)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return false;
  }

  // Waits until trial 1's current attempt has trained past `step` and runs
  // in a known Slurm step; returns that step's id.
  std::string WaitForTrainingStep(int step, int seconds) {
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < deadline) {
      if (fs::exists(run_ + "/journal.db")) {
        JournalReader j(run_ + "/journal.db");
        const std::string slurm = j.Scalar("SELECT slurm_step FROM trials WHERE id=1");
        const std::string at = j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1");
        if (!slurm.empty() && !at.empty() && std::stoi(at) >= step) return slurm;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return "";
  }

  std::string Output(const std::string& job) { return ReadText(run_ + "/slurm-" + job + ".out"); }

  std::string dir_, cluster_, sweep_ = "none", run_;
  bool started_ = false;
};

TEST_F(SlurmTest, ASweepSubmittedWithSweepSbatchRunsEachTrialAsAStepAndFinishes) {
  const std::string job = Submit(WriteConfig("slurm-e2e", 3, 60));
  ASSERT_FALSE(job.empty());
  ASSERT_TRUE(WaitForJobEnd(job, 240)) << "job " << job << " did not end:\n" << Output(job);
  const std::string out = Output(job);
  EXPECT_NE(out.find("polysweep: Slurm job " + job), std::string::npos) << out;
  EXPECT_NE(out.find("best trial"), std::string::npos) << out;

  JournalReader j(run_ + "/journal.db");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j.Scalar("SELECT state FROM sweeps"), "finished");
  auto trials = j.Query("SELECT id, state, slurm_step FROM trials ORDER BY id");
  ASSERT_EQ(trials.size(), 3u) << out;
  for (size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    EXPECT_EQ(t[1], "completed") << "trial " << t[0] << "\n" << out;
    // Each trial is its own step of the sweep's job, in launch order.
    EXPECT_EQ(t[2], job + "." + std::to_string(i)) << "trial " << t[0];
    EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations WHERE final=1 AND trial_id=" + t[0]), "1");
    EXPECT_GE(std::stoi(j.Scalar("SELECT COUNT(DISTINCT lang) FROM language_scores WHERE trial_id=" + t[0])), 8);
  }
  // The rendered script is kept next to the journal.
  const std::string script = ReadText(run_ + "/sweep.sbatch");
  EXPECT_NE(script.find("#SBATCH --ntasks=2\n"), std::string::npos) << script;
  EXPECT_NE(script.find("#SBATCH --job-name=polysweep-slurm-e2e\n"), std::string::npos) << script;

  // status and trials show the Slurm ids.
  auto trials_view = RunCommand(std::string(POLYSWEEP_BIN) + " trials --dir " + Quote(run_));
  EXPECT_NE(trials_view.out.find("SLURM"), std::string::npos) << trials_view.out;
  EXPECT_NE(trials_view.out.find(job + ".2"), std::string::npos) << trials_view.out;
  auto status = RunCommand(std::string(POLYSWEEP_BIN) + " status -o json --dir " + Quote(run_));
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(nlohmann::json::parse(status.out)["slurm_steps"]["1"], job + ".0");
}

TEST_F(SlurmTest, ScancelOfATrialsStepIsRecordedAsTheCauseAndTheTrialRestarts) {
  const std::string job = Submit(WriteConfig("slurm-cancel", 1, 3000));
  ASSERT_FALSE(job.empty());
  const std::string step = WaitForTrainingStep(150, 120);
  ASSERT_EQ(step, job + ".0") << Output(job);
  auto cancel = RunCommand("scancel " + step);
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  ASSERT_TRUE(WaitForJobEnd(job, 240)) << Output(job);

  JournalReader j(run_ + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed") << Output(job);
  EXPECT_EQ(j.Scalar("SELECT restarts FROM trials WHERE id=1"), "1");
  EXPECT_EQ(j.Scalar("SELECT slurm_step FROM trials WHERE id=1"), job + ".1");
  const std::string why =
      j.Scalar("SELECT reason FROM transitions WHERE trial_id=1 AND attempt=2 AND to_state='running'");
  EXPECT_NE(why.find("after attempt 1 failed: worker Slurm step " + step + " cancelled"), std::string::npos) << why;
  // The restart resumed from a checkpoint, not from step 0.
  const std::string first = j.Scalar("SELECT MIN(step) FROM progress WHERE trial_id=1 AND attempt=2");
  ASSERT_FALSE(first.empty());
  EXPECT_GT(std::stoi(first), 100);
}

TEST_F(SlurmTest, APreemptionSignalCheckpointsAndTheTrialIsRequeuedAndResumes) {
  const std::string job = Submit(WriteConfig("slurm-preempt", 1, 3000));
  ASSERT_FALSE(job.empty());
  const std::string step = WaitForTrainingStep(150, 120);
  ASSERT_EQ(step, job + ".0") << Output(job);
  // What Slurm's --signal=USR1@T does before a time limit or preemption.
  auto signal = RunCommand("scancel --signal=USR1 " + step);
  ASSERT_EQ(signal.exit_code, 0) << signal.err;
  ASSERT_TRUE(WaitForJobEnd(job, 240)) << Output(job);

  JournalReader j(run_ + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed") << Output(job);
  EXPECT_EQ(j.Scalar("SELECT restarts FROM trials WHERE id=1"), "0") << "a preemption spent a restart";
  const std::string preempted =
      j.Scalar("SELECT reason FROM transitions WHERE trial_id=1 AND attempt=1 AND to_state='preempted'");
  ASSERT_NE(preempted.find("checkpoint committed at step "), std::string::npos) << Output(job);
  const int checkpoint = std::stoi(preempted.substr(preempted.rfind(' ') + 1));
  EXPECT_GE(checkpoint, 150);
  // The requeued attempt (the last: a launch Slurm aborts is relaunched
  // without spending a restart) continues from the checkpoint.
  const std::string resumed_at = j.Scalar(
      "SELECT MIN(step) FROM progress WHERE trial_id=1 AND attempt=(SELECT attempt FROM trials WHERE id=1)");
  ASSERT_FALSE(resumed_at.empty()) << Output(job);
  const int resumed = std::stoi(resumed_at);
  EXPECT_GT(resumed, checkpoint);
  EXPECT_LE(resumed, checkpoint + 10);
  EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1"), "3000");
}

// Before its time limit Slurm signals the coordinator (sweep.sbatch's
// --signal=B:USR1@120): every running trial checkpoints and stops, the job
// requeues itself, and when it runs again the sweep continues from those
// checkpoints.
TEST_F(SlurmTest, BeforeItsTimeLimitTheSweepJobCheckpointsItsTrialsRequeuesItselfAndContinues) {
  const std::string job = Submit(WriteConfig("slurm-drain", 2, 1200));
  ASSERT_FALSE(job.empty());
  EXPECT_NE(ReadText(run_ + "/sweep.sbatch").find("#SBATCH --signal=B:USR1@120"), std::string::npos);
  const std::string step = WaitForTrainingStep(150, 120);
  ASSERT_EQ(step, job + ".0") << Output(job);
  // What --signal=B:USR1@120 does, without waiting for a time limit.
  auto signal = RunCommand("scancel --batch --signal=USR1 " + job);
  ASSERT_EQ(signal.exit_code, 0) << signal.err;
  ASSERT_TRUE(WaitForJobEnd(job, 300)) << Output(job);
  const std::string out = Output(job);
  EXPECT_NE(out.find("requeued Slurm job " + job), std::string::npos) << out;
  EXPECT_NE(out.find("polysweep: Slurm job " + job + " (restart 1)"), std::string::npos) << out;

  JournalReader j(run_ + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM sweeps"), "finished") << out;
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE state='completed'"), "2") << out;
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM decisions WHERE kind='drain'"), "1");
  EXPECT_EQ(j.Scalar("SELECT restarts FROM trials WHERE id=1"), "0") << "a drain spent a restart";
  const std::string drained =
      j.Scalar("SELECT reason FROM transitions WHERE trial_id=1 AND attempt=1 AND to_state='interrupted'");
  const std::string marker = "checkpoint committed at step ";
  ASSERT_EQ(drained.rfind(marker, 0), 0u) << drained << "\n" << out;
  const int checkpoint = std::stoi(drained.substr(marker.size()));
  EXPECT_GE(checkpoint, 150);
  // The requeued job's attempt (the last) continues from that checkpoint.
  const std::string resumed_at = j.Scalar(
      "SELECT MIN(step) FROM progress WHERE trial_id=1 AND attempt=(SELECT attempt FROM trials WHERE id=1)");
  ASSERT_FALSE(resumed_at.empty()) << out;
  const int resumed = std::stoi(resumed_at);
  EXPECT_GT(resumed, checkpoint);
  EXPECT_LE(resumed, checkpoint + 10);
  EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1"), "1200");
}

TEST_F(SlurmTest, WithTheSbatchLauncherEachTrialIsAJobOfItsOwn) {
  // The coordinator runs here (a login node); each trial is submitted.
  const std::string config = WriteConfig("slurm-jobs", 2, 60, 1, "sbatch");
  auto sweep = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(config));
  ASSERT_EQ(sweep.exit_code, 0) << sweep.err << sweep.out;
  JournalReader j(run_ + "/journal.db");
  auto trials = j.Query("SELECT id, state, slurm_step, process FROM trials ORDER BY id");
  ASSERT_EQ(trials.size(), 2u);
  std::set<std::string> jobs;
  for (const auto& t : trials) {
    EXPECT_EQ(t[1], "completed") << "trial " << t[0] << "\n" << sweep.err;
    // The trial's ranks ran as step 0 of a job of its own.
    ASSERT_GE(t[2].size(), 3u) << "trial " << t[0];
    EXPECT_EQ(t[2].substr(t[2].size() - 2), ".0") << t[2];
    jobs.insert(t[2]);
    const std::string launched =
        j.Scalar("SELECT reason FROM transitions WHERE to_state='running' AND trial_id=" + t[0]);
    EXPECT_EQ(launched, "launched with slurm-sbatch-job");
  }
  EXPECT_EQ(jobs.size(), 2u);
  // Each job's output went to its trial's log.
  EXPECT_NE(ReadText(run_ + "/trial-1.log").find("done: 60 steps"), std::string::npos) << ReadText(run_ + "/trial-1.log");
}

// Pull mode: the coordinator runs outside Slurm (a login node) and starts
// nothing; a job array of two agents (slurm/agents.sbatch) asks it for
// trials until the sweep is done, then both tasks end by themselves.
TEST_F(SlurmTest, AnAgentsJobArrayOfTwoTasksDrainsASweep) {
  const std::string config = WriteConfig("slurm-agents", 4, 60, 1, "agents", 2);
  const pid_t coordinator = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir_ + "/coordinator.log");
  ASSERT_GT(coordinator, 0);
  std::string endpoint;
  for (int i = 0; i < 300 && endpoint.empty(); ++i) {
    std::ifstream in(run_ + "/coordinator.endpoint");
    std::getline(in, endpoint);
    if (endpoint.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(endpoint.empty()) << ReadText(dir_ + "/coordinator.log");
  // The node has 2 CPUs; --overcommit lets both 2-rank agents run at once.
  const std::string sbatch = "POLYSWEEP_WORKER=" + Quote(POLYSWEEP_WORKER_BIN) + " sbatch --parsable --overcommit ";
  const std::string script = Quote(std::string(POLYSWEEP_SOURCE_DIR) + "/slurm/agents.sbatch") + " " +
                             Quote(endpoint) + " --sweep slurm-agents";

  // An agent of the wrong size is refused and its job ends with the reason.
  auto small = RunCommand(sbatch + "--array=0 --ntasks=1 --output=" + Quote(dir_ + "/small-%A_%a.out") + " " + script);
  ASSERT_EQ(small.exit_code, 0) << small.err;
  const std::string small_job = Trim(small.out);
  ASSERT_TRUE(WaitForJobEnd(small_job, 60));
  const std::string refused = ReadText(dir_ + "/small-" + small_job + "_0.out");
  EXPECT_NE(refused.find("has 1 ranks but trial.ranks is 2"), std::string::npos) << refused;
  EXPECT_NE(refused.find("the coordinator refused this agent"), std::string::npos) << refused;

  auto array = RunCommand(sbatch + "--array=0-1 --ntasks=2 --output=" + Quote(dir_ + "/agents-%A_%a.out") + " " + script);
  ASSERT_EQ(array.exit_code, 0) << array.err;
  const std::string job = Trim(array.out);
  ASSERT_EQ(testing_util::WaitFor(coordinator, 240), 0) << ReadText(dir_ + "/coordinator.log");
  ASSERT_TRUE(WaitForJobEnd(job, 60)) << "the agents did not end after the sweep";
  for (const char* task : {"_0", "_1"}) {
    const std::string out = ReadText(dir_ + "/agents-" + job + task + ".out");
    EXPECT_NE(out.find("sweep slurm-agents is done"), std::string::npos) << out;
  }
  JournalReader j(run_ + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE state='completed'"), "4");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations WHERE final=1"), "4");
  // Each trial ran as a step of one of the array's tasks, and both tasks ran trials.
  std::set<std::string> tasks;
  for (const auto& row : j.Query("SELECT slurm_step FROM trials")) {
    ASSERT_EQ(row[0].rfind(job + "_", 0), 0u) << row[0];
    tasks.insert(row[0].substr(0, row[0].find('.')));
  }
  EXPECT_EQ(tasks, (std::set<std::string>{job + "_0", job + "_1"}));
}

// A submission that cannot work is refused before anything reaches Slurm,
// and leaves no output directory behind.
TEST_F(SlurmTest, ImpossibleSubmissionsAreRefusedBeforeAnythingIsSubmitted) {
  const std::string config = WriteConfig("slurm-bad", 1, 60);
  const std::string submit = std::string(POLYSWEEP_BIN) + " submit " + Quote(config);
  auto partition = RunCommand(submit + " --partition gpu-nowhere");
  EXPECT_EQ(partition.exit_code, 2);
  EXPECT_NE(partition.err.find("--partition: Slurm has no partition \"gpu-nowhere\" (it has: debug)"),
            std::string::npos) << partition.err;

  const std::string big = WriteConfig("slurm-big", 1, 60, 4);
  auto too_big = RunCommand(std::string(POLYSWEEP_BIN) + " submit " + Quote(big));
  EXPECT_EQ(too_big.exit_code, 2);
  EXPECT_NE(too_big.err.find("trial.ranks x trial.threads_per_rank is 2 x 4 = 8 CPUs, more than the"),
            std::string::npos) << too_big.err;

  auto no_sbatch = RunCommand("PATH=/nonexistent " + submit);
  EXPECT_EQ(no_sbatch.exit_code, 2);
  EXPECT_NE(no_sbatch.err.find("sbatch is not on PATH"), std::string::npos) << no_sbatch.err;

  EXPECT_EQ(Trim(RunCommand("squeue --noheader --all").out), "") << "something was submitted";
  EXPECT_FALSE(fs::exists(dir_ + "/slurm-bad")) << "output directory left behind";
  EXPECT_FALSE(fs::exists(dir_ + "/slurm-big")) << "output directory left behind";
}

}  // namespace
}  // namespace polysweep
