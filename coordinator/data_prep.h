// Data preparation at sweep start: validates every line of the dataset,
// splits it train/valid/test by a hash of the group (or the text), and trains
// the SentencePiece tokenizer on a language-balanced sample of the training
// split. Output goes to a temporary directory renamed into place at the end,
// so a failure leaves nothing half-written.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/log.h"
#include "common/status.h"

namespace polysweep {

enum Split { kTrain = 0, kValid = 1, kTest = 2 };

struct PreparedData {
  std::string dir;
  std::string train_path;      // TSV: label_id \t lang_id \t text
  std::string valid_path;
  std::string test_path;
  std::string tokenizer_path;  // SentencePiece model
  std::vector<std::string> labels;
  std::vector<std::string> languages;
  std::map<std::string, std::array<int64_t, 3>> counts;  // lang -> per split
  int64_t bad_lines = 0;
  int64_t split_size(Split s) const;
};

// The split a key (group or text) falls in: a pure function of the key.
Split SplitOf(const std::string& key, double valid_fraction, double test_fraction);

// Reads, validates and splits `config.files`; writes `out_dir` (replacing it).
StatusOr<PreparedData> PrepareData(const DataConfig& config, const std::string& out_dir,
                                   const Logger& log);

}  // namespace polysweep
