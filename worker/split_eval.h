// Scoring an exported model on a split of the shards it was trained from:
// the test split a sweep holds out, read as the ranks read their splits
// (MakeBatch: the same truncation, text pairs with their token types), so
// the score is the one an evaluation of the checkpoint would give. The
// shards must be the model's: the same tokenizer and the same label map.
// Heavy header (LibTorch, through the predictor).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/class_report.h"
#include "common/manifest.h"
#include "common/status.h"
#include "worker/predictor.h"
#include "worker/regression_report.h"

namespace polysweep {

struct SplitScores {
  ClassReport overall;
  std::map<std::string, ClassReport> by_language;
  std::optional<RegressionReport> regression;  // a regression model's (the class reports then empty)
};

StatusOr<SplitScores> EvaluateSplit(Predictor& predictor, const std::string& shard_dir, Split split, int batch);

// Word-level counts of a token classifier's sentences: the tags' confusion,
// and the entity spans per type when its tags make spans.
struct TagTally {
  Confusion tags;
  SpanCounts spans;
  explicit TagTally(const Predictor& p) : tags(p.package().labels.size()), spans(p.span_tags().types.size()) {}
  // One sentence's scored words: gold and predicted tags.
  void Add(const Predictor& p, const std::vector<int>& gold, const std::vector<int>& predicted);
};

// A token classifier's scores: the per-tag report of plain tags, or the
// entity report of entity tags, overall and per language.
SplitScores TagScores(const Predictor& predictor, const TagTally& overall, const std::map<std::string, TagTally>& langs);


}  // namespace polysweep
