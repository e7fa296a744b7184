// Why a trial's attempt failed, as a class: the rank classes its error from
// the Status code (a bad config, a data error, out of memory, a collective
// timeout, any other error) and sends it typed in its TrialEnd; the
// coordinator adds what only it sees (a crashed rank, a hang, a node
// failure, a launch error). The journal stores the class's name in
// trials.reason, and the CLI shows it.
#pragma once

#include <string>

#include "common/status.h"
#include "polysweep.pb.h"

namespace polysweep {

// "bad config", "data error", "out of memory", "collective timeout",
// "crashed rank", "node failure", "hang", "launch error", "preempted",
// "error"; "" for FAILURE_UNSPECIFIED.
const char* FailureClassName(wire::FailureClass failure);
// A name above (older ranks send it as text) as its class; any other
// non-empty text is FAILURE_ERROR.
wire::FailureClass ParseFailureClass(const std::string& name);
// The class of a rank's error, from its code.
wire::FailureClass FailureFromStatus(const Status& status);
// Bad config and data errors are the user's to fix: restarting cannot help.
bool IsUserError(wire::FailureClass failure);

}  // namespace polysweep
