// `polysweep shard`: turns a dataset into binary shards. Validates every line
// (JSONL or TSV, plain or gzip), splits train/valid/test by a hash of the
// group (or the text), caps languages, trains or loads the SentencePiece
// tokenizer on a language-balanced sample, tokenizes on all cores, and writes
// one shard per (split, language) plus the manifest, last and atomically.
// Unchanged inputs (same fingerprint, shards intact) do no work.
#pragma once

#include <string>

#include "common/config.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/status.h"

namespace polysweep {

// The split a key (group or text) falls in: a pure function of the key, so
// appending to a file never moves an existing example to another split.
Split SplitOf(const std::string& key, double valid_fraction, double test_fraction);

// What the inputs are: the data config and each file's path, size and mtime.
std::string DataFingerprint(const DataConfig& config);

struct ShardOutcome {
  Manifest manifest;
  std::string dir;
  bool rebuilt = false;
  double seconds = 0;
};

// Shards `config` into `config.shard_dir` (or returns the existing shards
// when they are up to date and `force` is false). On error nothing is left
// behind: the previous shards, if any, are untouched.
StatusOr<ShardOutcome> ShardDataset(const DataConfig& config, const Logger& log, bool force = false);

}  // namespace polysweep
