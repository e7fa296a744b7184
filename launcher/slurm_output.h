// How a Slurm step ended, read from what srun and slurmstepd print into the
// trial's log: srun's own exit code is 137 or 143 whenever Slurm ended the
// step, so the real cause (a rank's exit code or signal, a cancellation, the
// time limit, preemption, an out-of-memory kill, a launch Slurm aborted) is
// only in these lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "launcher/launcher.h"

namespace polysweep {

// The end the text reports, or nullopt when it holds no line about one.
// The first event wins: a rank that exits with code 3 makes Slurm cancel the
// others, and "exit code 3" is the cause, not the cancellation.
std::optional<ExitInfo> ParseSrunOutput(const std::string& text);

// The "JOB.STEP" id srun or slurmstepd printed, or "".
std::string SlurmStepId(const std::string& text);

// Where the file at `path` ends now (0 when it does not exist yet): the
// offset from which a new attempt's lines are read.
std::uintmax_t LogEnd(const std::string& path);
// What the file at `path` gained since byte `offset` ("" when unreadable).
std::string ReadLogFrom(const std::string& path, std::uintmax_t offset);

// The signal whose strsignal() text is `name` ("Killed" -> 9), or 0.
int SignalFromName(const std::string& name);

}  // namespace polysweep
