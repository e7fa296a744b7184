// Examples held in memory (ExampleSource): what tests and small tools use
// where the worker itself reads memory-mapped shards (common/shard_set.h).
#pragma once

#include <cstdint>
#include <vector>

#include "common/shard_set.h"
#include "common/word_features.h"

namespace polysweep {

struct TokenizedSplit : public ExampleSource {
  std::vector<int32_t> tokens;     // all examples' ids, back to back
  std::vector<int64_t> offsets{0}; // example i is tokens[offsets[i], offsets[i+1])
  std::vector<int32_t> labels;    // one class id per example (its label span)
  std::vector<int32_t> langs;
  std::vector<uint32_t> pair_starts;  // each example's second text's first token (0: a single text)
  // Tagged examples (AddTagged): each one's label span, a value per token,
  // and (when given) its word features, kWordFeatures per token.
  std::vector<std::vector<int32_t>> tag_spans;
  std::vector<std::vector<uint32_t>> features;

  void Add(const std::vector<int32_t>& ids, int32_t label, int32_t lang, uint32_t pair_start = 0) {
    tokens.insert(tokens.end(), ids.begin(), ids.end());
    offsets.push_back(static_cast<int64_t>(tokens.size()));
    labels.push_back(label);
    langs.push_back(lang);
    pair_starts.push_back(pair_start);
  }
  // A tagged example: a label value per token (common/tagged.h).
  void AddTagged(const std::vector<int32_t>& ids, const std::vector<int32_t>& tags, int32_t lang,
                 std::vector<uint32_t> word_features = {}) {
    Add(ids, tags.empty() ? 0 : tags[0], lang);
    tag_spans.resize(labels.size() - 1);
    tag_spans.push_back(tags);
    features.resize(labels.size() - 1);
    features.push_back(std::move(word_features));
  }
  int64_t size() const override { return static_cast<int64_t>(labels.size()); }
  ExampleView Get(int64_t i) const override {
    const size_t k = static_cast<size_t>(i);
    const LabelSpan span = k < tag_spans.size() ? LabelSpan{tag_spans[k].data(), tag_spans[k].size()}
                                                 : LabelSpan{&labels[k], 1};
    ExampleView v{tokens.data() + offsets[k], static_cast<uint64_t>(offsets[k + 1] - offsets[k]),
                  static_cast<uint16_t>(labels[k]), static_cast<uint16_t>(langs[k]), span, pair_starts[k]};
    if (k < features.size() && !features[k].empty()) {
      v.features = features[k].data();
      v.feature_width = kWordFeatures;
    }
    return v;
  }
};

}  // namespace polysweep
