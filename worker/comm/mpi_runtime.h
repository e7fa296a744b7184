// MpiRuntime: MPI_Init_thread on construction, MPI_Finalize on destruction.
// One per process, owned by main(). Also what the NCCL backend bootstraps from.
// MPI is initialised with MPI_THREAD_MULTIPLE: each MPI communicator's
// progress thread makes its collectives' calls, and the main thread its own.
#pragma once

#include <string>

namespace polysweep {

class MpiRuntime {
 public:
  MpiRuntime(int* argc, char*** argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // rank among ranks on this host
  int local_size() const { return local_size_; }  // ranks of this job on this host
  // CPUs the ranks on this host may use together (their affinity masks' union).
  int local_cpus() const { return local_cpus_; }
  // The thread support MPI provided (MPI_THREAD_*).
  int thread_level() const { return thread_level_; }
  std::string host() const { return host_; }
  // Rank 0's `text` (at most 64 KiB), on every rank. The other ranks wait
  // without spinning a core: rank 0 may take seconds to decide.
  std::string Broadcast(const std::string& text) const;
  // Ends every rank of the job (after a fatal error on one of them).
  [[noreturn]] void Abort(int code) const;

 private:
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
  int local_cpus_ = 1;
  int thread_level_ = 0;
  std::string host_;
};

}  // namespace polysweep
