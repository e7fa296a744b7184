// The synthetic trainable (trial.synthetic_step_ms): it takes its steps'
// time, reports like a real trial, scores the hyperparameters with its fixed
// function, and obeys a stop command and a preemption at one step.
#include "worker/synthetic.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <vector>

#include "tests/common/solo_communicator.h"

namespace polysweep {
namespace {

class RecordingReporter : public Reporter {
 public:
  Status Progress(const wire::Progress& p) override {
    progress.push_back(p);
    return Status::Ok();
  }
  Status Evaluation(const wire::Evaluation& e) override {
    evaluations.push_back(e);
    return Status::Ok();
  }
  Status End(const wire::TrialEnd&) override { return Status::Ok(); }
  wire::Command command() const override { return stop_after >= 0 && static_cast<int>(progress.size()) > stop_after ? wire::COMMAND_STOP : wire::COMMAND_NONE; }
  std::vector<wire::Progress> progress;
  std::vector<wire::Evaluation> evaluations;
  int stop_after = -1;  // reports before the stop command appears
};

wire::Assignment Synthetic(double lr, int64_t steps) {
  wire::Assignment a;
  (*a.mutable_hparams())["lr"] = std::to_string(lr);
  (*a.mutable_hparams())["batch_size"] = "8";
  (*a.mutable_hparams())["dropout"] = "0";
  a.set_max_steps(steps);
  a.set_eval_every(5);
  a.set_log_every(2);
  a.set_synthetic_step_ms(2);
  a.mutable_data()->add_languages("de");
  a.mutable_data()->add_languages("ja");
  return a;
}

TEST(SyntheticTrial, TakesItsTimeReportsAndScoresTheHyperparameters) {
  testing_util::SoloCommunicator comm;
  RecordingReporter good, bad;
  const auto start = std::chrono::steady_clock::now();
  auto r = RunSyntheticTrial(Synthetic(1e-3, 20), &comm, &good);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->steps, 20);
  EXPECT_GE(seconds, 0.040);  // 20 steps of 2 ms
  ASSERT_EQ(good.progress.size(), 10u);
  EXPECT_EQ(good.progress.back().step(), 20);
  EXPECT_EQ(good.progress.back().samples(), 160);
  ASSERT_EQ(good.evaluations.size(), 4u);  // steps 5, 10, 15 and the final 20
  EXPECT_TRUE(good.evaluations.back().final());
  EXPECT_EQ(good.evaluations.back().languages_size(), 2);
  // A learning curve, and the optimum learning rate beats a poor one.
  EXPECT_LT(good.evaluations.front().macro_f1(), good.evaluations.back().macro_f1());
  ASSERT_TRUE(RunSyntheticTrial(Synthetic(1e-1, 20), &comm, &bad).ok());
  EXPECT_GT(good.evaluations.back().macro_f1(), bad.evaluations.back().macro_f1() + 0.3);
  EXPECT_DOUBLE_EQ(good.evaluations.back().macro_f1(), SyntheticQuality(1e-3, 0, 20, 20));
}

TEST(SyntheticTrial, StopsOnCommandAndOnPreemption) {
  testing_util::SoloCommunicator comm;
  RecordingReporter stopped;
  stopped.stop_after = 1;  // appears with the second report (step 4): acted on at step 5
  auto r = RunSyntheticTrial(Synthetic(1e-3, 100), &comm, &stopped);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(r->steps, 5);

  std::atomic<bool> preempt{true};
  RecordingReporter preempted;
  auto p = RunSyntheticTrial(Synthetic(1e-3, 100), &comm, &preempted, nullptr, &preempt);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->preempted);
  EXPECT_EQ(p->steps, 1);
}

}  // namespace
}  // namespace polysweep
