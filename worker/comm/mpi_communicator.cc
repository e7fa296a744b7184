#include "worker/comm/mpi_communicator.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>
#include <cstdlib>

#include "worker/comm/mpi_runtime.h"

namespace polysweep {

MpiRuntime::MpiRuntime(int* argc, char*** argv) {
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_free(&local);
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(name, &len);
  host_.assign(name, static_cast<size_t>(len));
}

MpiRuntime::~MpiRuntime() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::string MpiRuntime::Broadcast(const std::string& text) const {
  constexpr size_t kMax = 65536;
  std::string buffer(sizeof(uint32_t) + kMax, '\0');
  if (rank_ == 0) {
    const uint32_t n = static_cast<uint32_t>(std::min(text.size(), kMax));
    std::memcpy(buffer.data(), &n, sizeof n);
    std::memcpy(buffer.data() + sizeof n, text.data(), n);
  }
  // Open MPI's blocking collectives poll: a non-blocking one tested every
  // few milliseconds leaves the core to others while rank 0 decides.
  MPI_Request request;
  MPI_Ibcast(buffer.data(), static_cast<int>(buffer.size()), MPI_BYTE, 0, MPI_COMM_WORLD, &request);
  int done = 0;
  while (true) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  uint32_t n = 0;
  std::memcpy(&n, buffer.data(), sizeof n);
  return buffer.substr(sizeof n, std::min<size_t>(n, kMax));
}

void MpiRuntime::Abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();
}

namespace {

Status MpiError(const char* what, int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return Status::Error(std::string(what) + ": " + std::string(text, static_cast<size_t>(len)));
}

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(MpiRuntime& mpi) {
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }
  bool device_memory() const override { return false; }

  Status AllReduceSum(float* data, size_t count) override {
    // MPI counts are int: reduce very large buffers in pieces.
    constexpr size_t kMaxChunk = static_cast<size_t>(INT_MAX) / 2;
    for (size_t done = 0; done < count; done += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, count - done));
      int rc = MPI_Allreduce(MPI_IN_PLACE, data + done, n, MPI_FLOAT, MPI_SUM, comm_);
      if (rc != MPI_SUCCESS) return MpiError("MPI_Allreduce", rc);
    }
    return Status::Ok();
  }

  Status Broadcast(void* data, size_t bytes, int root) override {
    constexpr size_t kMaxChunk = static_cast<size_t>(INT_MAX) / 2;
    char* p = static_cast<char*>(data);
    for (size_t done = 0; done < bytes; done += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, bytes - done));
      int rc = MPI_Bcast(p + done, n, MPI_BYTE, root, comm_);
      if (rc != MPI_SUCCESS) return MpiError("MPI_Bcast", rc);
    }
    return Status::Ok();
  }

  Status Barrier() override {
    int rc = MPI_Barrier(comm_);
    return rc == MPI_SUCCESS ? Status::Ok() : MpiError("MPI_Barrier", rc);
  }

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> MakeMpiCommunicator(MpiRuntime& mpi) {
  return std::make_unique<MpiCommunicator>(mpi);
}

}  // namespace polysweep
