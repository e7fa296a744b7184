// The checkpoint policy (worker/checkpoint_policy.h): which steps evaluate,
// save, commit, pause or stop early, as the trainer acts on them.
#include "worker/checkpoint_policy.h"

#include <gtest/gtest.h>

#include <cmath>

namespace polysweep {
namespace {

using Checkpoint = StepAction::Checkpoint;
using End = StepAction::End;

CheckpointRules Rules() {
  CheckpointRules r;
  r.checkpoints = true;
  r.max_steps = 100;
  r.stop_at = 100;
  r.eval_every = 10;
  r.checkpoint_every = 25;
  return r;
}

TEST(CheckpointPolicy, EvaluatesAndSavesOnTheirStepsAndNotAtTheEnd) {
  CheckpointPolicy policy(Rules());
  EXPECT_FALSE(policy.Plan(9, false, false).evaluate);
  EXPECT_TRUE(policy.Plan(10, false, false).evaluate);
  EXPECT_EQ(policy.Decide(policy.Plan(10, false, false), true, false).checkpoint, Checkpoint::kNone);
  EXPECT_EQ(policy.Decide(policy.Plan(25, false, false), false, false).checkpoint, Checkpoint::kSave);
  EXPECT_EQ(policy.Decide(policy.Plan(26, false, false), false, true).checkpoint, Checkpoint::kSave);  // timed
  const StepPlan last = policy.Plan(100, false, false);
  EXPECT_TRUE(last.final);
  EXPECT_TRUE(last.evaluate);
  const StepAction end = policy.Decide(last, true, false);
  EXPECT_EQ(end.checkpoint, Checkpoint::kNone);  // the trial is over
  EXPECT_EQ(end.end, End::kNone);
  CheckpointRules none = Rules();
  none.checkpoints = false;
  EXPECT_EQ(CheckpointPolicy(none).Decide(CheckpointPolicy(none).Plan(25, false, false), false, true).checkpoint,
            Checkpoint::kNone);
}

TEST(CheckpointPolicy, KeepingTheBestCheckpointsEveryEvaluationTheFinalOneToo) {
  CheckpointRules r = Rules();
  r.keep_best = true;
  CheckpointPolicy policy(r);
  EXPECT_EQ(policy.Decide(policy.Plan(10, false, false), true, false).checkpoint, Checkpoint::kSave);
  EXPECT_EQ(policy.Decide(policy.Plan(100, false, false), true, false).checkpoint, Checkpoint::kSave);
}

TEST(CheckpointPolicy, PreemptionAndPauseCommitAndEndBeforeTheLastStepOnly) {
  CheckpointPolicy policy(Rules());
  const StepAction preempted = policy.Decide(policy.Plan(25, true, false), false, false);
  EXPECT_EQ(preempted.checkpoint, Checkpoint::kCommit);
  EXPECT_EQ(preempted.end, End::kPreempted);
  const StepAction paused = policy.Decide(policy.Plan(30, true, true), true, false);
  EXPECT_EQ(paused.checkpoint, Checkpoint::kCommit);
  EXPECT_EQ(paused.end, End::kPaused);  // a pause wins over a preemption
  EXPECT_EQ(policy.Decide(policy.Plan(100, true, false), true, false).end, End::kNone);  // the trial ends anyway
}

TEST(CheckpointPolicy, TheRungAsksThenPausesOrIsPromoted) {
  CheckpointRules r = Rules();
  r.stop_at = 40;
  CheckpointPolicy policy(r);
  EXPECT_FALSE(policy.PausedBeforeStart(40));
  EXPECT_TRUE(policy.PausedBeforeStart(41));
  StepPlan plan = policy.Plan(40, false, false);
  EXPECT_TRUE(plan.rung);
  EXPECT_TRUE(plan.ask);
  EXPECT_TRUE(plan.evaluate);
  StepAction paused = policy.Decide(plan, true, false);
  EXPECT_EQ(paused.checkpoint, Checkpoint::kCommit);
  EXPECT_EQ(paused.end, End::kRung);
  EXPECT_FALSE(policy.Promote(0, &plan));  // the scheduler says pause
  EXPECT_TRUE(policy.Promote(1000, &plan));
  EXPECT_EQ(policy.stop_at(), 100);  // capped at the end
  EXPECT_FALSE(plan.rung);
  EXPECT_EQ(policy.Decide(plan, true, false).end, End::kNone);
  EXPECT_FALSE(policy.Plan(40, true, false).ask);  // preempted at the rung: no question
}

TEST(CheckpointPolicy, EarlyStoppingCountsEvaluationsSinceTheBestNaNNeverBetter) {
  CheckpointRules r = Rules();
  r.patience = 2;
  CheckpointPolicy policy(r);
  policy.Observe(0.5);
  policy.Observe(0.4);
  EXPECT_EQ(policy.Decide(policy.Plan(20, false, false), true, false).end, End::kNone);
  policy.Observe(std::nan(""));
  const StepAction stop = policy.Decide(policy.Plan(30, false, false), true, false);
  EXPECT_EQ(stop.end, End::kEarlyStopped);
  EXPECT_EQ(stop.checkpoint, Checkpoint::kFlush);
  EXPECT_EQ(policy.Decide(policy.Plan(100, false, false), true, false).end, End::kNone);  // the last step ends anyway
  const EarlyStopCount count = policy.Count();
  ASSERT_TRUE(count.best_score.has_value());
  EXPECT_EQ(*count.best_score, 0.5);
  EXPECT_EQ(count.evals_since_best, 2);
  CheckpointPolicy resumed(r);
  resumed.Restore(count);
  EXPECT_EQ(resumed.Decide(resumed.Plan(30, false, false), true, false).end, End::kEarlyStopped);
  resumed.Observe(0.6);
  EXPECT_EQ(resumed.evals_since_best(), 0);
  EXPECT_FALSE(CheckpointPolicy(r).Count().best_score.has_value());  // nothing scored yet
}

TEST(CheckpointPolicy, TimedCheckpointsFollowRankZerosClock) {
  CheckpointRules r = Rules();
  r.checkpoint_every_seconds = 60;
  CheckpointPolicy policy(r);
  const auto t = CheckpointPolicy::Clock::now();
  policy.RestartTimer(t);
  EXPECT_FALSE(policy.TimedDue(t + std::chrono::seconds(59)));
  EXPECT_TRUE(policy.TimedDue(t + std::chrono::seconds(60)));
  r.checkpoint_every_seconds = 0;
  EXPECT_FALSE(CheckpointPolicy(r).TimedDue(t + std::chrono::hours(1)));
}

}  // namespace
}  // namespace polysweep
