// Masked-language-model inputs (BERT's recipe): each non-padding token is
// chosen with probability `prob`; a chosen token is replaced by `mask_id`
// 80% of the time, by a random vocabulary id 10%, and kept 10%. The batch's
// targets become the original ids at the chosen positions and kIgnoreTarget
// elsewhere. Deterministic in `seed`, so a resumed trial and every
// evaluation mask alike. Heavy header (LibTorch).
#pragma once

#include <cstdint>

#include "worker/train_step.h"

namespace polysweep {

void MaskTokens(Batch* batch, double prob, int mask_id, int vocab, uint64_t seed);

// A seed for the masks of (trial seed, step, rank, micro-batch): distinct
// streams that do not depend on how many steps ran before in this process.
uint64_t MaskSeed(uint64_t seed, int64_t step, int rank, int micro);

}  // namespace polysweep
