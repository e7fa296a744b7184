// main() for multi-rank tests: initialises MPI once, runs every test on every
// rank, and exits non-zero when any rank fails.
#include <gtest/gtest.h>
#include <mpi.h>

#include "mpi_env.h"

namespace polysweep {
namespace {
MpiRuntime* g_mpi = nullptr;
}
MpiRuntime& TestMpi() { return *g_mpi; }
}  // namespace polysweep

int main(int argc, char** argv) {
  polysweep::MpiRuntime mpi(&argc, &argv);
  polysweep::g_mpi = &mpi;
  testing::InitGoogleTest(&argc, argv);
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any_failed;
}
