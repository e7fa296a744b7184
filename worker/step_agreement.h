// The ranks' agreement at the end of every step: what one rank knows alone
// (a preemption signal it got; rank 0's clock saying a timed checkpoint is
// due; the coordinator's command, which only rank 0 hears) becomes what
// every rank knows, at the same step, so no rank is left waiting in a
// collective for one that has stopped. One small all-reduce of a typed
// message (int64 fields, summed) per step; at a scheduler's rung a second
// one carries rank 0's answer (the step to train on to) exactly.
// Collective: call on every rank, after every step.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "polysweep.pb.h"
#include "worker/comm/communicator.h"

namespace polysweep {

// What this rank knows at the end of a step.
struct StepSignals {
  bool preempted = false;                      // this rank got a preemption signal
  bool checkpoint_due = false;                 // rank 0: its clock says a timed checkpoint is due
  wire::Command command = wire::COMMAND_NONE;  // rank 0: the coordinator's latest command
};

// What every rank learns: the same on all of them.
struct StepAgreement {
  bool preempted = false;  // some rank got a preemption signal
  bool checkpoint_due = false;
  wire::Command command = wire::COMMAND_NONE;  // rank 0's
};

StatusOr<StepAgreement> AgreeOnStep(Communicator* comm, const StepSignals& mine);

// At a rung, rank 0's answer from the scheduler (0: pause here; a later
// step: train on to it), learned by every rank (the others pass 0).
StatusOr<int64_t> AgreeOnContinueStep(Communicator* comm, int64_t rank0_answer);

}  // namespace polysweep
