// The MPI backend: host memory, MPI_COMM_WORLD (duplicated, so the trial's
// collectives never mix with anything else on the world communicator).
// Collectives run in order on one progress thread per communicator, so a
// started all-reduce proceeds while the trainer computes (the gradient
// buckets during backward). Large buffers go in chunks of `kMpiChunkBytes`:
// one huge MPI_Allreduce is many times slower than the same bytes in 4 MB
// pieces (20x for BERT-base's 440 MB here). The chunks are blocking MPI
// calls: Open MPI's non-blocking collectives moved large buffers 1.5-2x
// slower. A waiter that passes the timeout gives up on its own, so a
// collective stuck in MPI cannot hang the trainer. Needs MPI_THREAD_MULTIPLE
// (two communicators' threads may be in MPI at once).
#pragma once

#include <cstddef>
#include <memory>

#include "common/status.h"
#include "worker/comm/communicator.h"

namespace polysweep {

inline constexpr size_t kMpiChunkBytes = 4u << 20;

StatusOr<std::unique_ptr<Communicator>> MakeMpiCommunicator(MpiRuntime& mpi, const CommOptions& options);

}  // namespace polysweep
