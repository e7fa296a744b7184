#include "worker/split_eval.h"

#include <algorithm>

#include "common/shard_set.h"
#include "worker/batching.h"

namespace polysweep {
namespace {

// The shards belong to the model: its tokenizer encoded them and its label map is theirs.
Status CheckShardsFitModel(const ModelPackage& package, const Manifest& m, const std::string& where) {
  if (!package.tokenizer_hash.empty() && m.tokenizer_hash != package.tokenizer_hash) {
    return Status::InvalidConfig(where + ": the shards were encoded with another tokenizer than the model's (hash " +
                                 m.tokenizer_hash + ", the model's " + package.tokenizer_hash + ")");
  }
  if (m.labels != package.labels) {
    return Status::InvalidConfig(where + ": the shards' labels are not the model's label map (" +
                                 std::to_string(m.labels.size()) + " labels against " +
                                 std::to_string(package.labels.size()) + ")");
  }
  return Status::Ok();
}

// Calls fn(batch) for the split's examples in order, `size` at a time, as
// the ranks batch them (MakeBatch with `targets`).
template <typename Fn>
void ForEachBatch(const Predictor& predictor, const ShardSet& set, int size, Targets targets, Fn fn) {
  const int pad_id = std::max(0, predictor.pad_id());
  const int classes = static_cast<int>(predictor.package().labels.size());
  for (int64_t begin = 0; begin < set.size(); begin += size) {
    std::vector<int64_t> indices;
    for (int64_t i = begin; i < std::min<int64_t>(set.size(), begin + size); ++i) indices.push_back(i);
    fn(MakeBatch(set, indices, pad_id, predictor.package().max_length, targets, classes));
  }
}

}  // namespace

void TagTally::Add(const Predictor& p, const std::vector<int>& gold, const std::vector<int>& predicted) {
  for (size_t i = 0; i < gold.size(); ++i) tags.Add(static_cast<size_t>(gold[i]), static_cast<size_t>(predicted[i]));
  if (p.span_tags().types.empty()) return;
  spans.Add(ExtractSpans(gold, p.span_tags()), ExtractSpans(predicted, p.span_tags()));
}

SplitScores TagScores(const Predictor& predictor, const TagTally& overall, const std::map<std::string, TagTally>& langs) {
  auto report = [&](const TagTally& t) {
    const std::vector<std::string>& labels = predictor.package().labels;
    if (predictor.span_tags().types.empty()) return MakeClassReport(labels, t.tags);
    int64_t right = 0, words = 0;  // the words' tags: right on the diagonal
    const auto& c = t.tags.counts();
    for (size_t g = 0; g < c.size(); ++g) {
      for (size_t p = 0; p < c.size(); ++p) words += c[g][p];
      right += c[g][g];
    }
    return MakeSpanReport(predictor.span_tags().types, t.spans, right, words);
  };
  SplitScores scores;
  scores.overall = report(overall);
  for (const auto& [lang, t] : langs) scores.by_language.emplace(lang, report(t));
  return scores;
}

namespace {

// Scores a token classifier on `set`: each sentence's scored words (a
// word's first piece), their tags and spans.
SplitScores EvaluateTagged(Predictor& predictor, const ShardSet& set, const Manifest& manifest, int batch) {
  TagTally overall(predictor);
  std::map<std::string, TagTally> by_language;
  ForEachBatch(predictor, set, batch, Targets::kPerTokenScoring, [&](const Batch& b) {
    const torch::Tensor predicted = predictor.TokenTags(b.ids, b.pad, b.types, b.features);
    const auto gold_a = b.labels.accessor<int64_t, 2>();
    const auto pred_a = predicted.accessor<int64_t, 2>();
    for (int64_t r = 0; r < b.labels.size(0); ++r) {
      TagTally& lang = by_language.try_emplace(manifest.languages[static_cast<size_t>(b.langs[static_cast<size_t>(r)])],
                                               predictor).first->second;
      std::vector<int> gold, guess;
      for (int64_t c = 0; c < b.labels.size(1); ++c) {
        if (gold_a[r][c] < 0) continue;
        gold.push_back(static_cast<int>(gold_a[r][c]));
        guess.push_back(static_cast<int>(pred_a[r][c]));
      }
      overall.Add(predictor, gold, guess);
      lang.Add(predictor, gold, guess);
    }
  });
  return TagScores(predictor, overall, by_language);
}

// Scores a regression model on `set`: every prediction against its target.
SplitScores EvaluateValues(Predictor& predictor, const ShardSet& set, const Manifest& manifest, int batch) {
  RegressionTally tally;
  ForEachBatch(predictor, set, batch, Targets::kReal, [&](const Batch& b) {
    const torch::Tensor predicted = predictor.Values(b.ids, b.pad, b.types);
    const auto gold_a = b.labels.accessor<float, 1>();
    const auto pred_a = predicted.accessor<float, 1>();
    for (size_t r = 0; r < b.langs.size(); ++r) {
      const auto i = static_cast<int64_t>(r);
      tally.Add(manifest.languages[static_cast<size_t>(b.langs[r])], gold_a[i], pred_a[i]);
    }
  });
  SplitScores scores;
  scores.regression = tally.Report();
  return scores;
}

// Scores a multi-label model on `set`: each text's labels at the model's
// threshold against its own.
SplitScores EvaluateLabelSets(Predictor& predictor, const ShardSet& set, const Manifest& manifest, int batch) {
  const std::vector<std::string>& labels = predictor.package().labels;
  const double threshold = predictor.package().threshold;
  LabelSetTally overall(labels.size());
  std::map<std::string, LabelSetTally> by_language;
  std::vector<bool> gold(labels.size()), guess(labels.size());
  ForEachBatch(predictor, set, batch, Targets::kMultiHot, [&](const Batch& b) {
    const torch::Tensor probs = predictor.LabelProbabilities(b.ids, b.pad, b.types);
    const auto gold_a = b.labels.accessor<float, 2>();
    const auto prob_a = probs.accessor<float, 2>();
    for (size_t r = 0; r < b.langs.size(); ++r) {
      const auto row = static_cast<int64_t>(r);
      for (size_t k = 0; k < labels.size(); ++k) {
        gold[k] = gold_a[row][static_cast<int64_t>(k)] > 0.5f;
        guess[k] = prob_a[row][static_cast<int64_t>(k)] >= threshold;
      }
      overall.Add(gold, guess);
      const std::string& lang = manifest.languages[static_cast<size_t>(b.langs[r])];
      by_language.try_emplace(lang, labels.size()).first->second.Add(gold, guess);
    }
  });
  SplitScores scores;
  scores.overall = overall.Report(labels);
  for (const auto& [lang, t] : by_language) scores.by_language.emplace(lang, t.Report(labels));
  return scores;
}

}  // namespace

StatusOr<SplitScores> EvaluateSplit(Predictor& predictor, const std::string& shard_dir, Split split, int batch) {
  const std::string where = shard_dir + "/manifest.json";
  auto manifest = LoadManifest(where);
  if (!manifest.ok()) return manifest.status();
  const ModelPackage& package = predictor.package();
  PS_RETURN_IF_ERROR(CheckShardsFitModel(package, *manifest, where));
  if (manifest->split_size(split) == 0) {
    return Status::InvalidConfig(where + ": the " + std::string(SplitName(split)) + " split is empty" +
                                 (split == kTest ? " (data.test_fraction is 0)" : ""));
  }
  auto set = ShardSet::Open(*manifest, shard_dir, split);
  if (!set.ok()) return set.status();
  if (predictor.tags_words()) return EvaluateTagged(predictor, **set, *manifest, batch);
  if (predictor.regresses()) return EvaluateValues(predictor, **set, *manifest, batch);
  if (predictor.multi_label()) return EvaluateLabelSets(predictor, **set, *manifest, batch);
  const size_t labels = package.labels.size();
  Confusion overall(labels);
  std::map<std::string, Confusion> by_language;
  ForEachBatch(predictor, **set, batch, Targets::kPerText, [&](const Batch& b) {
    const std::vector<int> predicted = predictor.Labels(b.ids, b.pad, b.types);
    const auto golds = b.labels.accessor<int64_t, 1>();
    for (size_t r = 0; r < b.langs.size(); ++r) {
      const auto gold = static_cast<size_t>(golds[static_cast<int64_t>(r)]);
      const auto guess = static_cast<size_t>(predicted[r]);
      overall.Add(gold, guess);
      const std::string& lang = manifest->languages[static_cast<size_t>(b.langs[r])];
      by_language.try_emplace(lang, labels).first->second.Add(gold, guess);
    }
  });
  SplitScores scores;
  scores.overall = MakeClassReport(package.labels, overall);
  for (const auto& [lang, c] : by_language) scores.by_language.emplace(lang, MakeClassReport(package.labels, c));
  return scores;
}

}  // namespace polysweep
