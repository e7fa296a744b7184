// Communicator: the data plane of one trial. A small interface (all-reduce,
// broadcast, barrier) with one backend per library: MPI (CPU, host memory) and
// NCCL (GPU, device memory). Backends are chosen at run time by
// MakeCommunicator(); only factory.cc knows which ones were built.
// Calls are collective: every rank of the trial makes the same calls in the
// same order. Not thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"

namespace polysweep {

class MpiRuntime;

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;
  // True when buffers must live in GPU memory (NCCL), false for host memory.
  virtual bool device_memory() const = 0;

  // Sums `count` floats element-wise across ranks, in place.
  virtual Status AllReduceSum(float* data, size_t count) = 0;
  // Copies `bytes` from `root`'s buffer into every other rank's buffer.
  virtual Status Broadcast(void* data, size_t bytes, int root) = 0;
  virtual Status Barrier() = 0;
};

// The backends built into this binary, e.g. "mpi" or "mpi, nccl".
std::string BuiltBackends();

// Makes the backend named `name` ("mpi" or "nccl") over `mpi`'s world.
StatusOr<std::unique_ptr<Communicator>> MakeCommunicator(const std::string& name, MpiRuntime& mpi);

}  // namespace polysweep
