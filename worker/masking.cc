#include "worker/masking.h"

#include <random>

#include "worker/heads.h"

namespace polysweep {

void MaskTokens(Batch* batch, double prob, int mask_id, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::uniform_int_distribution<int64_t> any_id(0, vocab - 1);
  const int64_t rows = batch->ids.size(0), cols = batch->ids.size(1);
  torch::Tensor targets = torch::full({rows, cols}, kIgnoreTarget, torch::kLong);
  auto ids = batch->ids.accessor<int64_t, 2>();
  auto pad = batch->pad.accessor<bool, 2>();
  auto out = targets.accessor<int64_t, 2>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      if (pad[r][c] || coin(rng) >= prob) continue;
      out[r][c] = ids[r][c];
      const double how = coin(rng);
      if (how < 0.8) {
        ids[r][c] = mask_id;
      } else if (how < 0.9) {
        ids[r][c] = any_id(rng);
      }
    }
  }
  batch->labels = targets;
}

uint64_t MaskSeed(uint64_t seed, int64_t step, int rank, int micro) {
  // splitmix64 over the four, so nearby inputs give unrelated streams.
  uint64_t x = seed;
  for (uint64_t v : {static_cast<uint64_t>(step), static_cast<uint64_t>(rank), static_cast<uint64_t>(micro)}) {
    x += 0x9e3779b97f4a7c15ULL + v;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
  }
  return x;
}

}  // namespace polysweep
