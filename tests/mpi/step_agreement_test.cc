// The ranks' step agreement (worker/step_agreement.h) under a real mpirun:
// one rank's preemption, rank 0's timed checkpoint and command, and rank 0's
// answer at a rung reach every rank, the step exactly however large.
#include "worker/step_agreement.h"

#include <gtest/gtest.h>

#include "mpi_env.h"

namespace polysweep {
namespace {

std::unique_ptr<Communicator> Comm() {
  auto comm = MakeCommunicator("mpi", TestMpi());
  EXPECT_TRUE(comm.ok()) << comm.status().message();
  return std::move(*comm);
}

TEST(StepAgreement, EveryRankLearnsWhatOneRankKnows) {
  auto comm = Comm();
  const bool zero = comm->rank() == 0, last = comm->rank() == comm->size() - 1;
  StepSignals mine;
  auto quiet = AgreeOnStep(comm.get(), mine);
  ASSERT_TRUE(quiet.ok()) << quiet.status().message();
  EXPECT_FALSE(quiet->preempted);
  EXPECT_FALSE(quiet->checkpoint_due);
  EXPECT_EQ(quiet->command, wire::COMMAND_NONE);

  mine.preempted = last;
  mine.checkpoint_due = zero;
  mine.command = zero ? wire::COMMAND_PAUSE : wire::COMMAND_NONE;
  auto agreed = AgreeOnStep(comm.get(), mine);
  ASSERT_TRUE(agreed.ok()) << agreed.status().message();
  EXPECT_TRUE(agreed->preempted);
  EXPECT_TRUE(agreed->checkpoint_due);
  EXPECT_EQ(agreed->command, wire::COMMAND_PAUSE);

  const int64_t far = (int64_t{1} << 40) + 3;  // no float holds it
  auto step = AgreeOnContinueStep(comm.get(), zero ? far : 12345);
  ASSERT_TRUE(step.ok()) << step.status().message();
  EXPECT_EQ(*step, far);
}

}  // namespace
}  // namespace polysweep
