#include "common/failure.h"

#include "common/names.h"

namespace polysweep {
namespace {

constexpr std::array<std::pair<wire::FailureClass, const char*>, 10> kNames = {{
    {wire::FAILURE_BAD_CONFIG, "bad config"},
    {wire::FAILURE_DATA_ERROR, "data error"},
    {wire::FAILURE_OUT_OF_MEMORY, "out of memory"},
    {wire::FAILURE_COLLECTIVE_TIMEOUT, "collective timeout"},
    {wire::FAILURE_CRASHED_RANK, "crashed rank"},
    {wire::FAILURE_NODE_FAILURE, "node failure"},
    {wire::FAILURE_HANG, "hang"},
    {wire::FAILURE_LAUNCH_ERROR, "launch error"},
    {wire::FAILURE_PREEMPTED, "preempted"},
    {wire::FAILURE_ERROR, "error"},
}};

}  // namespace

const char* FailureClassName(wire::FailureClass failure) { return NameOf(kNames, failure, ""); }

wire::FailureClass ParseFailureClass(const std::string& name) {
  if (name.empty()) return wire::FAILURE_UNSPECIFIED;
  return ValueOf(kNames, name).value_or(wire::FAILURE_ERROR);
}

wire::FailureClass FailureFromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return wire::FAILURE_UNSPECIFIED;
    case StatusCode::kInvalidConfig: return wire::FAILURE_BAD_CONFIG;
    case StatusCode::kDataError:
    case StatusCode::kNotFound: return wire::FAILURE_DATA_ERROR;
    case StatusCode::kResourceExhausted: return wire::FAILURE_OUT_OF_MEMORY;
    case StatusCode::kDeadlineExceeded: return wire::FAILURE_COLLECTIVE_TIMEOUT;
    default: return wire::FAILURE_ERROR;
  }
}

bool IsUserError(wire::FailureClass failure) {
  return failure == wire::FAILURE_BAD_CONFIG || failure == wire::FAILURE_DATA_ERROR;
}

}  // namespace polysweep
