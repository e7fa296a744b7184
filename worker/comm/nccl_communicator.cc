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

  Status AllReduceSum(float* data, size_t count) override {
    ncclResult_t r = ncclAllReduce(data, data, count, ncclFloat, ncclSum, comm_, stream_);
    if (r != ncclSuccess) return NcclError("ncclAllReduce", r);
    return Sync();
  }

  Status Broadcast(void* data, size_t bytes, int root) override {
    ncclResult_t r = ncclBroadcast(data, data, bytes, ncclChar, root, comm_, stream_);
    if (r != ncclSuccess) return NcclError("ncclBroadcast", r);
    return Sync();
  }

  Status Barrier() override {
    // NCCL has no barrier: an all-reduce of one float is one.
    float* one = nullptr;
    cudaError_t e = cudaMallocAsync(reinterpret_cast<void**>(&one), sizeof(float), stream_);
    if (e != cudaSuccess) return CudaError("cudaMallocAsync", e);
    Status s = AllReduceSum(one, 1);
    cudaFreeAsync(one, stream_);
    return s;
  }

 private:
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
