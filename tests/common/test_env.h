// The environment every test process needs: Open MPI may run as root (CI
// containers), and ranks use one LibTorch/OpenBLAS thread each. Set by each
// suite's main(), since gtest_discover_tests cannot pass a list-valued
// ENVIRONMENT property (it splits the list into name/value pairs). A value
// already in the environment wins.
#pragma once

#include <cstdlib>

namespace polysweep::testing_util {

inline void SetTestEnvironment() {
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  setenv("OMP_NUM_THREADS", "1", 0);
  setenv("OPENBLAS_NUM_THREADS", "1", 0);
}

}  // namespace polysweep::testing_util
