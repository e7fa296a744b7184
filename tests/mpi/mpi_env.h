// The MPI runtime of the test process, created by mpi_main.cc.
#pragma once

#include "worker/comm/mpi_runtime.h"

namespace polysweep {
MpiRuntime& TestMpi();
}
