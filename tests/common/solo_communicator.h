// A one-rank communicator for tests: every collective is the identity.
#pragma once

#include <string>

#include "worker/comm/communicator.h"

namespace polysweep::testing_util {

class SoloCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "solo"; }
  bool device_memory() const override { return false; }
  std::unique_ptr<CommWork> StartAllReduce(void*, size_t, DType) override { return CompletedWork(); }
  std::unique_ptr<CommWork> StartBroadcast(void*, size_t, int) override { return CompletedWork(); }
  std::unique_ptr<CommWork> StartBarrier() override { return CompletedWork(); }
};

}  // namespace polysweep::testing_util
