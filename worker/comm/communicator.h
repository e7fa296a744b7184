// Communicator: the data plane of one trial. A small interface (all-reduce,
// broadcast, barrier) with one backend per library: MPI (CPU, host memory) and
// NCCL (GPU, device memory). Backends are chosen at run time by
// MakeCommunicator(); only factory.cc knows which ones were built.
//
// Every collective starts asynchronously and returns a CommWork handle; the
// blocking calls are Start + Wait. Collectives are issued in the same order
// on every rank and complete in the order they were started. A collective that
// has not completed within the communicator's timeout fails with a message
// naming it, and the communicator is broken from then on (every later call
// fails at once): a peer rank is gone or stuck, and the trial must end.
// Start and Wait are called from one thread at a time (the trainer's); the
// backends progress the collectives on their own thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace polysweep {

class MpiRuntime;

// The element type of an all-reduce's buffer. Every backend sums float32
// (gradients, evaluation counts) and int64 (the ranks' step agreement, exact
// at any step number); lower-precision types arrive with mixed precision.
enum class DType { kFloat32, kInt64 };
inline size_t DTypeBytes(DType dtype) { return dtype == DType::kInt64 ? sizeof(int64_t) : sizeof(float); }
// How messages name the elements: "all-reduce of 64 floats".
inline const char* DTypePlural(DType dtype) { return dtype == DType::kInt64 ? "int64s" : "floats"; }

// A started collective. Its buffer must stay valid until Wait returns; a
// handle destroyed unwaited waits first.
class CommWork {
 public:
  virtual ~CommWork() = default;
  // Blocks until the collective has completed on this rank (its buffer holds
  // the result), or until it failed or timed out.
  virtual Status Wait() = 0;
};

struct CommOptions {
  double timeout_seconds = 600;  // per collective, from its start
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;
  // True when buffers must live in GPU memory (NCCL), false for host memory.
  virtual bool device_memory() const = 0;

  // Sums `count` elements of type `dtype` element-wise across ranks, in place.
  virtual std::unique_ptr<CommWork> StartAllReduce(void* data, size_t count, DType dtype) = 0;
  // Copies `bytes` from `root`'s buffer into every other rank's buffer.
  virtual std::unique_ptr<CommWork> StartBroadcast(void* data, size_t bytes, int root) = 0;
  virtual std::unique_ptr<CommWork> StartBarrier() = 0;

  // Blocking forms. A backend may run a blocking all-reduce on the calling
  // thread when nothing else is in flight (no hand-off to a progress thread).
  virtual Status AllReduce(void* data, size_t count, DType dtype) { return StartAllReduce(data, count, dtype)->Wait(); }
  // Typed forms of the sum.
  std::unique_ptr<CommWork> StartAllReduceSum(float* data, size_t count) {
    return StartAllReduce(data, count, DType::kFloat32);
  }
  Status AllReduceSum(float* data, size_t count) { return AllReduce(data, count, DType::kFloat32); }
  Status AllReduceSum(int64_t* data, size_t count) { return AllReduce(data, count, DType::kInt64); }
  Status Broadcast(void* data, size_t bytes, int root) { return StartBroadcast(data, bytes, root)->Wait(); }
  Status Barrier() { return StartBarrier()->Wait(); }
};

// A handle that is already complete with `status` (for backends and calls
// that finish at once, or fail before starting).
std::unique_ptr<CommWork> CompletedWork(Status status = Status::Ok());

// The backends built into this binary, e.g. "mpi" or "mpi, nccl".
std::string BuiltBackends();

// Makes the backend named `name` ("mpi" or "nccl") over `mpi`'s world.
StatusOr<std::unique_ptr<Communicator>> MakeCommunicator(const std::string& name, MpiRuntime& mpi,
                                                         const CommOptions& options = {});

}  // namespace polysweep
