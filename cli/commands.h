// The small commands of `polysweep` (cli/main.cc registers them all); each
// returns the process's exit code: 0 on success, 1 when the command ran and
// found a problem, 2 on bad input (after printing why on stderr).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/submit.h"

namespace polysweep {

int KeyGen(const std::string& prefix);
int Submit(const std::string& config_path, SubmitOptions options);
// `polysweep check`: 0 when the sweep kept every promise, 1 when not.
int CheckCommand(const std::string& given_dir, bool processes, const std::string& output);
int RunShard(const std::string& config_path, bool force);
// Runs `binary` (polysweep-predict or polysweep-serve, next to this one: they
// link LibTorch, the CLI does not) with the model directory, when given, and
// the remaining arguments (--help among them).
int RunSibling(const std::string& binary, const std::string& model_dir, std::vector<std::string> rest);
// format: polysweep (a directory `polysweep predict` reads) or hf (one Hugging
// Face's AutoModelForSequenceClassification reads).
int ExportModelCommand(const std::string& config_path, uint64_t trial, std::string out, const std::string& format);
int DataStatsCommand(const std::string& config_path, bool json);
int PreviewCommand(const std::string& config_path);
int ValidateCommand(const std::string& config_path);

}  // namespace polysweep
