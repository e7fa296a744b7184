// Small models and synthetic tokenized data shared by the worker and
// multi-rank tests (header-only; LibTorch).
#pragma once

#include <random>

#include "worker/dataset.h"
#include "worker/model.h"

namespace polysweep::testing_util {

// A model small enough to train in milliseconds.
inline ModelShape TinyShape(int vocab, int classes, int layers, int hidden, int max_length, double dropout) {
  const EncoderDims dims{vocab, layers, hidden, hidden >= 32 ? 4 : 2, 2 * hidden, max_length};
  return MakeModelShape(dims, TaskKind::kSequenceClassification, classes, dropout);
}

// `n` examples of 1..max_len random ids in [4, vocab), random labels.
inline TokenizedSplit SyntheticSplit(int n, int vocab, int labels, int max_len, uint64_t seed) {
  TokenizedSplit s;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> ids(1 + rng() % static_cast<uint64_t>(max_len));
    for (auto& id : ids) id = 4 + static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab - 4));
    s.Add(ids, static_cast<int32_t>(rng() % static_cast<uint64_t>(labels)), 0);
  }
  return s;
}

}  // namespace polysweep::testing_util
