// Exporting a sweep's best model: the best trial's best-scoring checkpoint's
// weights, the tokenizer and the label map, as a directory `polysweep
// predict` reads (common/model_package.h). Written into a temporary
// directory and renamed into place: a reader sees the old export or the new
// one, never a mix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/manifest.h"
#include "common/status.h"
#include "cli/views.h"
#include "polysweep.pb.h"

namespace polysweep {

struct ExportedModel {
  std::string dir;
  uint64_t trial = 0;
  std::string checkpoint;  // the checkpoint the weights came from
};

// Exports trial `trial` (0: the best trial of `status`) of the sweep whose
// output directory is `run_dir` into `out_dir`.
StatusOr<ExportedModel> ExportModel(const SweepConfig& config, const Manifest& data, const wire::StatusReply& status,
                                    const std::string& run_dir, const std::string& out_dir, uint64_t trial = 0);

// The program `name` next to this binary: polysweep-predict and
// polysweep-serve link LibTorch; the CLI does not.
std::string SiblingBinary(const std::string& name);
inline std::string PredictBinary() { return SiblingBinary("polysweep-predict"); }

// Writes the exported model `model_dir` (one fine-tuned from a Hugging Face
// checkpoint) in Hugging Face's layout into `out_dir`, with polysweep-predict
// --to-hf; the error is what it printed.
Status WriteHfModel(const std::string& model_dir, const std::string& out_dir);

// Scores the exported model in `model_dir` on the test split of the shards
// in `shard_dir` (the sweep's own) and writes the per-class report, overall
// and per language, to model_dir/test-report.json; returns the summary line
// ("scored the test split of ... accuracy ..., macro-F1 ...").
StatusOr<std::string> ScoreTestSplit(const std::string& model_dir, const std::string& shard_dir);

// The test-split score of the model exported to <run_dir>/model, when the
// sweep scored it (nullopt otherwise, or when the files do not read).
std::optional<TestScore> LoadTestScore(const std::string& run_dir);

}  // namespace polysweep
