// The MPI backend: host memory, MPI_COMM_WORLD (duplicated, so the trial's
// collectives never mix with anything else on the world communicator).
#pragma once

#include <memory>

#include "worker/comm/communicator.h"

namespace polysweep {

std::unique_ptr<Communicator> MakeMpiCommunicator(MpiRuntime& mpi);

}  // namespace polysweep
