// The NCCL backend (GPU only). Bootstraps with the canonical pattern: rank 0
// calls ncclGetUniqueId and broadcasts it over MPI; every rank selects the GPU
// of its local rank and calls ncclCommInitRank. Buffers are device pointers.
// Built wherever CUDA and nccl.h are found; it cannot run without a GPU.
#pragma once

#include <memory>

#include "common/status.h"
#include "worker/comm/communicator.h"

namespace polysweep {

StatusOr<std::unique_ptr<Communicator>> MakeNcclCommunicator(MpiRuntime& mpi, const CommOptions& options);

}  // namespace polysweep
