#include "worker/comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include <chrono>
#include <thread>

#include "worker/comm/mpi_runtime.h"

namespace polysweep {
namespace {

Status CudaError(const char* what, cudaError_t e) {
  return Status::Error(std::string(what) + ": " + cudaGetErrorString(e));
}
Status NcclError(const char* what, ncclResult_t r) {
  return Status::Error(std::string(what) + ": " + ncclGetErrorString(r));
}

class NcclCommunicator;

// A collective queued on the communicator's stream: done when its event is.
class NcclWork : public CommWork {
 public:
  NcclWork(NcclCommunicator* comm, cudaEvent_t event, std::string what, double timeout_seconds)
      : comm_(comm), event_(event), what_(std::move(what)), timeout_seconds_(timeout_seconds),
        start_(std::chrono::steady_clock::now()) {}
  ~NcclWork() override {
    if (event_) (void)Wait();
  }
  Status Wait() override;

 private:
  NcclCommunicator* comm_;
  cudaEvent_t event_;
  std::string what_;
  double timeout_seconds_;
  std::chrono::steady_clock::time_point start_;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, cudaStream_t stream, int rank, int size, const CommOptions& options)
      : comm_(comm), stream_(stream), rank_(rank), size_(size), options_(options) {}
  ~NcclCommunicator() override {
    if (broken_.empty()) ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "nccl"; }
  bool device_memory() const override { return true; }

  // Device buffers (the gradients) are reduced asynchronously on the
  // communicator's stream; small host buffers (the trainer's per-step flags,
  // the checkpoint a restore picks) are staged through device memory, and
  // complete before the call returns.
  std::unique_ptr<CommWork> StartAllReduce(void* data, size_t count, DType dtype) override {
    const ncclDataType_t type = dtype == DType::kInt64 ? ncclInt64 : ncclFloat32;
    return Launch(data, count * DTypeBytes(dtype),
                  "all-reduce of " + std::to_string(count) + " " + DTypePlural(dtype), [&](void* d) {
                    return ncclAllReduce(d, d, count, type, ncclSum, comm_, stream_);
                  });
  }

  std::unique_ptr<CommWork> StartBroadcast(void* data, size_t bytes, int root) override {
    return Launch(data, bytes, "broadcast of " + std::to_string(bytes) + " bytes", [&](void* d) {
      return ncclBroadcast(d, d, bytes, ncclChar, root, comm_, stream_);
    });
  }

  std::unique_ptr<CommWork> StartBarrier() override {
    // NCCL has no barrier: an all-reduce of one float is one.
    float one = 0;
    return CompletedWork(StartAllReduce(&one, 1, DType::kFloat32)->Wait());
  }

  // Polls `event` until it completes or the timeout passes; on a timeout the
  // communicator is aborted (NCCL's way out of a hung collective).
  Status WaitEvent(cudaEvent_t event, const std::string& what, double elapsed_limit,
                   std::chrono::steady_clock::time_point start) {
    while (true) {
      cudaError_t e = cudaEventQuery(event);
      if (e == cudaSuccess) return Status::Ok();
      if (e != cudaErrorNotReady) return CudaError(what.c_str(), e);
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async);
      if (async != ncclSuccess) return Break(NcclError(what.c_str(), async));
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > elapsed_limit) {
        return Break(Status::DeadlineExceeded(what + " not complete after " + std::to_string(static_cast<int64_t>(elapsed_limit)) +
                                   " s (trial.collective_timeout_seconds): a peer rank is gone or stuck"));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

 private:
  template <typename Op>
  std::unique_ptr<CommWork> Launch(void* data, size_t bytes, std::string what, Op op) {
    if (!broken_.empty()) return CompletedWork(Status::Error(what + " not started: " + broken_));
    cudaPointerAttributes attr{};
    const bool device = cudaPointerGetAttributes(&attr, data) == cudaSuccess &&
                        (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged);
    cudaGetLastError();  // clear the error a plain host pointer may leave
    const auto start = std::chrono::steady_clock::now();
    if (device) {
      ncclResult_t r = op(data);
      if (r != ncclSuccess) return CompletedWork(NcclError(what.c_str(), r));
      cudaEvent_t event;
      cudaError_t e = cudaEventCreateWithFlags(&event, cudaEventDisableTiming);
      if (e == cudaSuccess) e = cudaEventRecord(event, stream_);
      if (e != cudaSuccess) return CompletedWork(CudaError("cudaEventRecord", e));
      return std::make_unique<NcclWork>(this, event, std::move(what), options_.timeout_seconds);
    }
    void* staged = nullptr;
    cudaError_t e = cudaMallocAsync(&staged, bytes, stream_);
    if (e != cudaSuccess) return CompletedWork(CudaError("cudaMallocAsync", e));
    e = cudaMemcpyAsync(staged, data, bytes, cudaMemcpyHostToDevice, stream_);
    Status s = e == cudaSuccess ? Status::Ok() : CudaError("cudaMemcpyAsync", e);
    if (s.ok()) {
      ncclResult_t r = op(staged);
      if (r != ncclSuccess) s = NcclError(what.c_str(), r);
    }
    if (s.ok()) {
      e = cudaMemcpyAsync(data, staged, bytes, cudaMemcpyDeviceToHost, stream_);
      if (e != cudaSuccess) s = CudaError("cudaMemcpyAsync", e);
    }
    cudaFreeAsync(staged, stream_);
    cudaEvent_t event;
    e = cudaEventCreateWithFlags(&event, cudaEventDisableTiming);
    if (e == cudaSuccess) e = cudaEventRecord(event, stream_);
    if (e != cudaSuccess) return CompletedWork(s.ok() ? CudaError("cudaEventRecord", e) : s);
    Status synced = WaitEvent(event, what, options_.timeout_seconds, start);
    cudaEventDestroy(event);
    return CompletedWork(s.ok() ? synced : s);
  }

  Status Break(Status why) {
    broken_ = why.message();
    ncclCommAbort(comm_);
    return why;
  }

  ncclComm_t comm_;
  cudaStream_t stream_;
  int rank_;
  int size_;
  CommOptions options_;
  std::string broken_;  // why the communicator was aborted; empty while it works
};

Status NcclWork::Wait() {
  if (!event_) return Status::Error("collective already waited for");
  Status s = comm_->WaitEvent(event_, what_, timeout_seconds_, start_);
  cudaEventDestroy(event_);
  event_ = nullptr;
  return s;
}

}  // namespace

StatusOr<std::unique_ptr<Communicator>> MakeNcclCommunicator(MpiRuntime& mpi, const CommOptions& options) {
  int devices = 0;
  cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess || devices == 0) {
    return Status::Error("trial.backend nccl needs a GPU, and this host has none (" +
                         std::string(cudaGetErrorString(e)) + "); use backend: mpi");
  }
  e = cudaSetDevice(mpi.local_rank() % devices);
  if (e != cudaSuccess) return CudaError("cudaSetDevice", e);
  ncclUniqueId id;
  if (mpi.rank() == 0) {
    ncclResult_t r = ncclGetUniqueId(&id);
    if (r != ncclSuccess) return NcclError("ncclGetUniqueId", r);
  }
  MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
  cudaStream_t stream;
  e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) return CudaError("cudaStreamCreate", e);
  ncclComm_t comm;
  ncclResult_t r = ncclCommInitRank(&comm, mpi.size(), id, mpi.rank());
  if (r != ncclSuccess) {
    cudaStreamDestroy(stream);
    return NcclError("ncclCommInitRank", r);
  }
  return std::unique_ptr<Communicator>(new NcclCommunicator(comm, stream, mpi.rank(), mpi.size(), options));
}

}  // namespace polysweep
