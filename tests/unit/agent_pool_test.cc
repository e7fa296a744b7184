// AgentPool: pull mode's launcher queues attempts in launch order, hands
// each to one agent, ends an attempt when its rank 0 reports or its agent
// comes back without it, and adopts claimed attempts after a restart.
#include "launcher/agent_pool.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace polysweep {
namespace {

LaunchSpec Spec(uint64_t trial, uint32_t attempt) {
  LaunchSpec spec;
  spec.trial = trial;
  spec.attempt = attempt;
  spec.name = "t" + std::to_string(trial) + ".a" + std::to_string(attempt);
  return spec;
}

TEST(AgentPool, QueuedAttemptsAreClaimedOnceInLaunchOrder) {
  AgentPool pool;
  auto one = pool.Launch(Spec(1, 1));
  auto two = pool.Launch(Spec(2, 1));
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(pool.queued(), 2);
  EXPECT_FALSE((*one)->started());
  EXPECT_EQ((*one)->handle(), "agent:queued");
  auto first = pool.Claim("a");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->trial, 1u);
  EXPECT_EQ(first->attempt, 1u);
  EXPECT_EQ(first->handle, "agent:a");
  EXPECT_TRUE((*one)->started());
  EXPECT_EQ((*one)->handle(), "agent:a");
  auto second = pool.Claim("b");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->trial, 2u);
  EXPECT_FALSE(pool.Claim("c").has_value());
  EXPECT_EQ(pool.queued(), 0);
  EXPECT_FALSE((*one)->Poll().has_value());
}

TEST(AgentPool, ReportedEndFinishesTheAttemptCleanly) {
  AgentPool pool;
  auto p = pool.Launch(Spec(3, 2));
  ASSERT_TRUE(p.ok());
  pool.Claim("a");
  pool.Finish(3, 1);  // an older attempt's end changes nothing
  EXPECT_FALSE((*p)->Poll().has_value());
  pool.Finish(3, 2);
  auto exit = (*p)->Poll();
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->ok());
}

TEST(AgentPool, AnAgentAskingAgainGivesUpWhatItHeldAsACrash) {
  AgentPool pool;
  auto p = pool.Launch(Spec(5, 1));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(pool.Abandon("a", "x"), 0u);  // holds nothing yet
  pool.Claim("a");
  EXPECT_EQ(pool.Abandon("b", "x"), 0u);  // another agent's claim leaves it alone
  EXPECT_FALSE((*p)->Poll().has_value());
  EXPECT_EQ(pool.Abandon("a", "its ranks were restarted"), 5u);
  auto exit = (*p)->Poll();
  ASSERT_TRUE(exit.has_value());
  EXPECT_FALSE(exit->ok());
  EXPECT_EQ(exit->Describe(), "its ranks were restarted");
  // A restarted attempt is queued again and can go to any agent.
  auto next = pool.Launch(Spec(5, 2));
  ASSERT_TRUE(next.ok());
  auto claimed = pool.Claim("b");
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->attempt, 2u);
}

TEST(AgentPool, KillEndsAQueuedOrClaimedAttemptWithoutTouchingProcesses) {
  AgentPool pool;
  auto claimed = pool.Launch(Spec(1, 1));
  auto queued = pool.Launch(Spec(2, 1));
  ASSERT_TRUE(claimed.ok() && queued.ok());
  pool.Claim("a");  // trial 1
  const ExitInfo killed = (*claimed)->Kill(100);
  EXPECT_EQ(killed.signal, SIGKILL);
  EXPECT_NE(killed.Describe().find("agent a"), std::string::npos);
  EXPECT_EQ((*queued)->Kill(100).Describe(), "ended before an agent claimed it");
  EXPECT_FALSE(pool.Claim("b").has_value());  // a killed attempt is not handed out
}

TEST(AgentPool, AdoptsClaimedAttemptsButNotQueuedOnes) {
  AgentPool pool;
  const std::vector<std::string> args = {"--sweep", "s", "--trial", "4", "--attempt", "3"};
  EXPECT_EQ(pool.Adopt("agent:queued", args), nullptr);
  EXPECT_EQ(pool.Adopt("local:host:12", args), nullptr);
  auto adopted = pool.Adopt("agent:slurm-41_1", args);
  ASSERT_NE(adopted, nullptr);
  EXPECT_TRUE(adopted->started());
  EXPECT_EQ(adopted->handle(), "agent:slurm-41_1");
  EXPECT_EQ(pool.Abandon("slurm-41_1", "gone"), 4u);
}

}  // namespace
}  // namespace polysweep
