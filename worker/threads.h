// How many compute threads each rank uses, and setting them in LibTorch and
// OpenBLAS. The ranks of a job on one host share that host's CPUs (the
// union of their affinity masks, as the launcher or Slurm gave them), so a
// rank never takes more than its share: N ranks never oversubscribe the cores.
#pragma once

#include <string>

namespace polysweep {

struct ThreadChoice {
  int threads = 1;
  std::string note;  // non-empty when the request was capped or resolved automatically: why
};

// `requested` threads per rank (0: automatic) for one of `local_size` ranks
// sharing `local_cpus` CPUs: automatic is the share, floor(cpus / ranks),
// at least 1; a request above the share is capped to it.
ThreadChoice ChooseRankThreads(int requested, int local_cpus, int local_size);

// Sets LibTorch's intra-op threads and, when the process uses OpenBLAS,
// OpenBLAS's threads (found at run time: other BLAS builds lack the call).
// Returns whether OpenBLAS was set.
bool SetComputeThreads(int threads);

}  // namespace polysweep
