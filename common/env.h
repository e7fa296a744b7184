// Reading the process environment.
#pragma once

#include <cstdlib>
#include <string>

namespace polysweep {

// The value of environment variable `name`, or "" when it is unset.
inline std::string GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// CPUs this process may use: Slurm's CPUs on this node inside an
// allocation, else its affinity mask.
int AvailableCpus();

}  // namespace polysweep
