// A tokenized split held in memory (token ids + offsets), and the sampling
// order of an epoch. The order is a pure function of (size, seed, epoch): all
// ranks compute the same permutation and each takes its own disjoint slice.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "tokenizer/tokenizer.h"

namespace polysweep {

struct TokenizedSplit {
  std::vector<int32_t> tokens;   // all examples' ids, back to back
  std::vector<int64_t> offsets;  // example i is tokens[offsets[i], offsets[i+1])
  std::vector<int32_t> labels;
  std::vector<int32_t> langs;
  size_t size() const { return labels.size(); }
  int64_t length(size_t i) const { return offsets[i + 1] - offsets[i]; }
};

// Reads a prepared split (label_id \t lang_id \t text), tokenizes each text
// and keeps at most `max_length` ids.
StatusOr<TokenizedSplit> LoadSplit(const std::string& path, const Tokenizer& tokenizer,
                                   int max_length, int num_labels, int num_langs);

// A permutation of [0, n) for `epoch`, identical on every rank.
std::vector<int64_t> EpochOrder(size_t n, uint64_t seed, int64_t epoch);

// Positions of rank `rank`'s examples for `step` within an epoch: the global
// batch is batch*world consecutive entries of the order; each rank takes its
// contiguous block. Returns indices into the split.
std::vector<int64_t> RankBatch(const std::vector<int64_t>& order, int64_t step_in_epoch, int batch,
                               int rank, int world);

}  // namespace polysweep
