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
  const size_t labels = package.labels.size();
  Confusion overall(labels);
  std::map<std::string, Confusion> by_language;
  const int pad_id = std::max(0, predictor.pad_id());
  for (int64_t begin = 0; begin < (*set)->size(); begin += batch) {
    std::vector<int64_t> indices;
    for (int64_t i = begin; i < std::min<int64_t>((*set)->size(), begin + batch); ++i) indices.push_back(i);
    const Batch b = MakeBatch(**set, indices, pad_id, package.max_length);
    const std::vector<int> predicted = predictor.Labels(b.ids, b.pad, b.types);
    const auto golds = b.labels.accessor<int64_t, 1>();
    for (size_t r = 0; r < indices.size(); ++r) {
      const auto gold = static_cast<size_t>(golds[static_cast<int64_t>(r)]);
      const auto guess = static_cast<size_t>(predicted[r]);
      overall.Add(gold, guess);
      const std::string& lang = manifest->languages[static_cast<size_t>(b.langs[r])];
      by_language.try_emplace(lang, labels).first->second.Add(gold, guess);
    }
  }
  SplitScores scores;
  scores.overall = MakeClassReport(package.labels, overall);
  for (const auto& [lang, c] : by_language) scores.by_language.emplace(lang, MakeClassReport(package.labels, c));
  return scores;
}

}  // namespace polysweep
