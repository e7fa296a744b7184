#include "worker/step_agreement.h"

namespace polysweep {

namespace {

// The step message's fields, each an int64 summed over the ranks.
enum StepField {
  kPreempted,      // ranks that got a preemption signal
  kCheckpointDue,  // 1 from rank 0 when a timed checkpoint is due
  kCommand,        // rank 0's command (the other ranks hear none and send 0)
  kStepFields,
};

}  // namespace

StatusOr<StepAgreement> AgreeOnStep(Communicator* comm, const StepSignals& mine) {
  int64_t message[kStepFields] = {};
  message[kPreempted] = mine.preempted ? 1 : 0;
  message[kCheckpointDue] = mine.checkpoint_due ? 1 : 0;
  message[kCommand] = static_cast<int64_t>(mine.command);
  PS_RETURN_IF_ERROR(comm->AllReduceSum(message, kStepFields));
  StepAgreement agreed;
  agreed.preempted = message[kPreempted] > 0;
  agreed.checkpoint_due = message[kCheckpointDue] > 0;
  agreed.command = static_cast<wire::Command>(message[kCommand]);
  return agreed;
}

StatusOr<int64_t> AgreeOnContinueStep(Communicator* comm, int64_t rank0_answer) {
  int64_t step = comm->rank() == 0 ? rank0_answer : 0;
  if (comm->size() > 1) PS_RETURN_IF_ERROR(comm->AllReduceSum(&step, 1));
  return step;
}

}  // namespace polysweep
