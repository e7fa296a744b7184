// The checkpoint writer the kill test runs as a child process: it resumes
// from the newest good checkpoint in a directory and commits checkpoints
// back to back until killed. Every parameter of the checkpoint of step S
// holds the value S, so a checkpoint whose files came from different steps
// is told apart from a good one.
#pragma once

#include <string>

namespace polysweep::testing_util {

// The flag that makes the worker test binary run the writer instead of tests.
inline constexpr const char* kCheckpointWriterFlag = "--checkpoint-writer";

// Runs the writer on `dir`; returns only on an error (exit code).
int RunCheckpointWriter(const std::string& dir);

}  // namespace polysweep::testing_util
