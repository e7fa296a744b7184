// Masked-language-model inputs (BERT's recipe): each non-padding token is
// chosen with probability `prob`; a chosen token is replaced by `mask_id`
// 80% of the time, by a random vocabulary id 10%, and kept 10%. The batch's
// targets become the original ids at the chosen positions and kIgnoreTarget
// elsewhere. Deterministic in `seed`, so a resumed trial and every
// evaluation mask alike. Heavy header (LibTorch).
#pragma once

#include <cstdint>

#include "worker/batching.h"

namespace polysweep {

void MaskTokens(Batch* batch, double prob, int mask_id, int vocab, uint64_t seed);

// How a trial's batches are masked: a masked-language model's mask token,
// vocabulary, share and seed; prob 0 for every other task.
struct MaskingSpec {
  double prob = 0;
  int mask_id = 0;
  int vocab = 0;
  uint64_t seed = 0;  // the trial's
  bool on() const { return prob > 0; }
};
// MaskTokens with `spec`'s share, mask and vocabulary.
inline void MaskTokens(Batch* batch, const MaskingSpec& spec, uint64_t seed) {
  MaskTokens(batch, spec.prob, spec.mask_id, spec.vocab, seed);
}

// A seed for the masks of (trial seed, step, rank, micro-batch): distinct
// streams that do not depend on how many steps ran before in this process.
uint64_t MaskSeed(uint64_t seed, int64_t step, int rank, int micro);

}  // namespace polysweep
