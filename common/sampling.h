// The training order: a pure function of (language sizes, alpha, seed, epoch)
// and of nothing else, world size included, so every rank computes the same
// order and a resumed trial continues it on any number of ranks.
//
// Temperature sampling across languages (as XLM-R): language l is drawn with
// probability p_l ∝ n_l^alpha. alpha = 1 is proportional (each example once
// per epoch), alpha -> 0 uniform over languages (small languages repeated,
// large ones subsampled). An epoch has sum(n_l) entries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace polysweep {

// p_l ∝ n_l^alpha, summing to 1 (languages with n_l = 0 get 0).
std::vector<double> LanguageProbabilities(const std::vector<int64_t>& sizes, double alpha);

// How many entries of one epoch come from each language: p_l * sum(n), rounded
// by largest remainder so the quotas sum exactly to sum(n).
std::vector<int64_t> EpochQuotas(const std::vector<int64_t>& sizes, double alpha);

// The epoch's order of global example indices; language l's examples are
// indices [base_l, base_l + n_l) with base_l = n_0 + ... + n_{l-1}. Within a
// language, a fresh permutation per epoch (concatenated again when its quota
// exceeds its size); the languages are then interleaved by a seeded shuffle.
std::vector<int64_t> EpochOrder(const std::vector<int64_t>& sizes, double alpha, uint64_t seed, int64_t epoch);

// Where a reader is: the next entry of epoch `epoch`'s order is `offset`.
// Small, world-size independent, and stored in checkpoints.
struct ReaderPosition {
  int64_t epoch = 0;
  int64_t offset = 0;
  std::string Encode() const;  // "epoch:offset"
  static StatusOr<ReaderPosition> Decode(const std::string& text);
  bool operator==(const ReaderPosition& o) const { return epoch == o.epoch && offset == o.offset; }
};

// One step's share of the order for rank `rank` of `world`: entries
// [begin, end) of the epoch order. A step consumes batch*world entries, or
// what is left of the epoch, split as evenly as possible (the first ranks get
// one more), so no entry is skipped or repeated.
struct StepSlice {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t global = 0;  // entries the whole step consumes
  int64_t size() const { return end - begin; }
};
StepSlice SliceForRank(int64_t epoch_size, const ReaderPosition& pos, int batch, int rank, int world);

// The position after a step that consumed `slice.global` entries.
ReaderPosition Advance(const ReaderPosition& pos, int64_t consumed, int64_t epoch_size);

}  // namespace polysweep
