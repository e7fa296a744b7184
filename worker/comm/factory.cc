// The one place that knows which communicator backends were built.
#include "worker/comm/communicator.h"
#include "worker/comm/mpi_communicator.h"
#if POLYSWEEP_HAVE_NCCL
#include "worker/comm/nccl_communicator.h"
#endif

namespace polysweep {

std::string BuiltBackends() {
#if POLYSWEEP_HAVE_NCCL
  return "mpi, nccl";
#else
  return "mpi";
#endif
}

StatusOr<std::unique_ptr<Communicator>> MakeCommunicator(const std::string& name, MpiRuntime& mpi) {
  if (name == "mpi") return MakeMpiCommunicator(mpi);
#if POLYSWEEP_HAVE_NCCL
  if (name == "nccl") return MakeNcclCommunicator(mpi);
#endif
  return Status::Error("communicator backend \"" + name + "\" is not built into this worker (built: " +
                       BuiltBackends() + ")");
}

}  // namespace polysweep
