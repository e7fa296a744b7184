// The one place that knows which communicator backends were built.
#include "worker/comm/communicator.h"

#include <algorithm>

#include "worker/comm/backend_names.h"
#include "worker/comm/mpi_communicator.h"
#if POLYSWEEP_HAVE_NCCL
#include "worker/comm/nccl_communicator.h"
#endif

namespace polysweep {

namespace {
class DoneWork : public CommWork {
 public:
  explicit DoneWork(Status status) : status_(std::move(status)) {}
  Status Wait() override { return status_; }

 private:
  Status status_;
};
}  // namespace

std::unique_ptr<CommWork> CompletedWork(Status status) { return std::make_unique<DoneWork>(std::move(status)); }

std::string BuiltBackends() {
#if POLYSWEEP_HAVE_NCCL
  return "mpi, nccl";
#else
  return "mpi";
#endif
}

StatusOr<std::unique_ptr<Communicator>> MakeCommunicator(const std::string& name, MpiRuntime& mpi,
                                                         const CommOptions& options) {
  if (name == "mpi") return MakeMpiCommunicator(mpi, options);
#if POLYSWEEP_HAVE_NCCL
  if (name == "nccl") return MakeNcclCommunicator(mpi, options);
#endif
  const auto& known = CommBackendNames();
  if (std::find(known.begin(), known.end(), name) == known.end()) {
    return Status::InvalidConfig("trial.backend: unknown communicator backend \"" + name + "\"");
  }
  return Status::Error("communicator backend \"" + name + "\" is not built into this worker (built: " +
                       BuiltBackends() + ")");
}

}  // namespace polysweep
