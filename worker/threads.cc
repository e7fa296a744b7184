#include "worker/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>

namespace polysweep {

ThreadChoice ChooseRankThreads(int requested, int local_cpus, int local_size) {
  const int share = std::max(1, local_cpus / std::max(1, local_size));
  ThreadChoice choice;
  const std::string shared = std::to_string(local_size) + " ranks on this host share " +
                             std::to_string(local_cpus) + " CPUs";
  if (requested <= 0) {
    choice.threads = share;
    choice.note = "trial.threads_per_rank auto: " + std::to_string(share) + " (" + shared + ")";
  } else if (requested > share) {
    choice.threads = share;
    choice.note = "trial.threads_per_rank " + std::to_string(requested) + " capped to " + std::to_string(share) +
                  ": " + shared;
  } else {
    choice.threads = requested;
  }
  return choice;
}

bool SetComputeThreads(int threads) {
  threads = std::max(1, threads);
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
  using SetFn = void (*)(int);
  auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set == nullptr) return false;
  set(threads);
  return true;
}

}  // namespace polysweep
