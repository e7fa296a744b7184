#include "worker/comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include "worker/comm/mpi_runtime.h"

namespace polysweep {
namespace {

Status CudaError(const char* what, cudaError_t e) {
  return Status::Error(std::string(what) + ": " + cudaGetErrorString(e));
}
Status NcclError(const char* what, ncclResult_t r) {
  return Status::Error(std::string(what) + ": " + ncclGetErrorString(r));
}

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, cudaStream_t stream, int rank, int size)
      : comm_(comm), stream_(stream), rank_(rank), size_(size) {}
  ~NcclCommunicator() override {
    ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "nccl"; }
  bool device_memory() const override { return true; }

  // Gradients live in device memory; small host buffers (the trainer's
  // per-step flags, the checkpoint a restore picks) are staged through it.
  Status AllReduceSum(float* data, size_t count) override {
    return OnDevice(data, count * sizeof(float), [&](void* d) {
      ncclResult_t r = ncclAllReduce(d, d, count, ncclFloat, ncclSum, comm_, stream_);
      return r == ncclSuccess ? Status::Ok() : NcclError("ncclAllReduce", r);
    });
  }

  Status Broadcast(void* data, size_t bytes, int root) override {
    return OnDevice(data, bytes, [&](void* d) {
      ncclResult_t r = ncclBroadcast(d, d, bytes, ncclChar, root, comm_, stream_);
      return r == ncclSuccess ? Status::Ok() : NcclError("ncclBroadcast", r);
    });
  }

  Status Barrier() override {
    // NCCL has no barrier: an all-reduce of one float is one.
    float one = 0;
    return AllReduceSum(&one, 1);
  }

 private:
  template <typename Op>
  Status OnDevice(void* data, size_t bytes, Op op) {
    cudaPointerAttributes attr{};
    const bool device = cudaPointerGetAttributes(&attr, data) == cudaSuccess &&
                        (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged);
    cudaGetLastError();  // clear the error a plain host pointer may leave
    if (device) {
      PS_RETURN_IF_ERROR(op(data));
      return Sync();
    }
    void* staged = nullptr;
    cudaError_t e = cudaMallocAsync(&staged, bytes, stream_);
    if (e != cudaSuccess) return CudaError("cudaMallocAsync", e);
    e = cudaMemcpyAsync(staged, data, bytes, cudaMemcpyHostToDevice, stream_);
    Status s = e == cudaSuccess ? op(staged) : CudaError("cudaMemcpyAsync", e);
    if (s.ok()) {
      e = cudaMemcpyAsync(data, staged, bytes, cudaMemcpyDeviceToHost, stream_);
      if (e != cudaSuccess) s = CudaError("cudaMemcpyAsync", e);
    }
    cudaFreeAsync(staged, stream_);
    Status synced = Sync();
    return s.ok() ? synced : s;
  }

  Status Sync() {
    cudaError_t e = cudaStreamSynchronize(stream_);
    return e == cudaSuccess ? Status::Ok() : CudaError("cudaStreamSynchronize", e);
  }

  ncclComm_t comm_;
  cudaStream_t stream_;
  int rank_;
  int size_;
};

}  // namespace

StatusOr<std::unique_ptr<Communicator>> MakeNcclCommunicator(MpiRuntime& mpi) {
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
  return std::unique_ptr<Communicator>(new NcclCommunicator(comm, stream, mpi.rank(), mpi.size()));
}

}  // namespace polysweep
