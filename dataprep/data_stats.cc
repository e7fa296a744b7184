#include "dataprep/data_stats.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/manifest.h"
#include "common/sampling.h"
#include "common/shard_set.h"
#include "common/format.h"

namespace polysweep {
namespace {

std::string Render(const std::vector<std::vector<std::string>>& rows) {
  TextTable table(rows[0]);
  for (size_t i = 1; i < rows.size(); ++i) table.Add(rows[i]);
  return table.Render();
}

int64_t Percentile(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// Adds an example's labels to the counts per label: its class, each of a
// multi-label text's labels, each scored tag of a tagged sentence (a word's
// first piece); a regression's number counts none.
void CountLabels(const Manifest& m, const ExampleView& v, std::vector<int64_t>* counts) {
  if (m.real_labels) return;
  auto count = [&](int32_t id) {
    if (id >= 0 && static_cast<size_t>(id) < counts->size()) ++(*counts)[static_cast<size_t>(id)];
  };
  if (m.multi_label || m.tag_scheme != TagScheme::kAuto) {
    for (int32_t id : v.labels) count(id);
  } else {
    count(v.label);
  }
}

}  // namespace

StatusOr<std::string> DataStats(const DataConfig& config, bool json) {
  const std::string& dir = config.shard_dir;
  auto manifest = LoadManifest(dir + "/manifest.json");
  if (!manifest.ok()) {
    return Status::Error("no shards in " + dir + " (" + manifest.status().message() +
                         "): run `polysweep shard CONFIG` first");
  }
  auto train = ShardSet::Open(*manifest, dir, kTrain);
  if (!train.ok()) return train.status();
  const auto& langs = manifest->languages;
  const std::vector<int64_t> sizes = (*train)->language_sizes();
  const std::vector<double> natural = LanguageProbabilities(sizes, 1.0);
  const std::vector<double> sampled = LanguageProbabilities(sizes, config.sampling_alpha);
  const std::vector<int64_t> quotas = EpochQuotas(sizes, config.sampling_alpha);

  std::vector<std::vector<int64_t>> lengths(langs.size());
  std::vector<int64_t> label_counts(manifest->labels.size(), 0);
  for (int64_t i = 0; i < (*train)->size(); ++i) {
    ExampleView v = (*train)->Get(i);
    lengths[v.lang].push_back(static_cast<int64_t>(v.length));
    CountLabels(*manifest, v, &label_counts);
  }
  nlohmann::json j;
  j["shard_dir"] = dir;
  j["sampling_alpha"] = config.sampling_alpha;
  j["vocab_size"] = manifest->vocab_size;
  j["bad_lines"] = manifest->bad_lines;
  std::vector<std::vector<std::string>> lang_rows = {
      {"LANG", "TRAIN", "VALID", "TEST", "TOK p50", "p90", "p99", "max", "SHARE", "SAMPLED", "PER EPOCH"}};
  std::vector<int64_t> all_lengths;
  for (size_t l = 0; l < langs.size(); ++l) {
    const auto& c = manifest->counts.at(langs[l]);
    std::vector<int64_t>& len = lengths[l];
    all_lengths.insert(all_lengths.end(), len.begin(), len.end());
    const int64_t p50 = Percentile(len, 0.5), p90 = Percentile(len, 0.9), p99 = Percentile(len, 0.99);
    const int64_t mx = len.empty() ? 0 : *std::max_element(len.begin(), len.end());
    j["languages"][langs[l]] = {{"train", c[0]}, {"valid", c[1]}, {"test", c[2]},
                                {"tokens", {{"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", mx}}},
                                {"natural_share", natural[l]}, {"sampling_probability", sampled[l]},
                                {"per_epoch", quotas[l]}};
    lang_rows.push_back({langs[l], std::to_string(c[0]), std::to_string(c[1]), std::to_string(c[2]),
                         std::to_string(p50), std::to_string(p90), std::to_string(p99), std::to_string(mx),
                         Fixed(100 * natural[l], 1) + "%", Fixed(100 * sampled[l], 1) + "%",
                         std::to_string(quotas[l])});
  }
  lang_rows.push_back({"all", std::to_string(manifest->split_size(kTrain)), std::to_string(manifest->split_size(kValid)),
                       std::to_string(manifest->split_size(kTest)), std::to_string(Percentile(all_lengths, 0.5)),
                       std::to_string(Percentile(all_lengths, 0.9)), std::to_string(Percentile(all_lengths, 0.99)),
                       std::to_string(all_lengths.empty() ? 0 : *std::max_element(all_lengths.begin(), all_lengths.end())),
                       "100%", "100%", std::to_string((*train)->size())});
  std::vector<std::vector<std::string>> label_rows = {{"LABEL", "TRAIN", "SHARE"}};
  // A share of the labels counted: a tagged split's of its words; a
  // multi-label text counts once per label, so its shares are of the texts.
  int64_t counted = 0;
  for (int64_t c : label_counts) counted += c;
  const double total = static_cast<double>(std::max<int64_t>(1, manifest->multi_label ? (*train)->size() : counted));
  for (size_t k = 0; k < manifest->labels.size(); ++k) {
    j["labels"][manifest->labels[k]] = label_counts[k];
    label_rows.push_back({manifest->labels[k], std::to_string(label_counts[k]),
                          Fixed(100 * static_cast<double>(label_counts[k]) / total, 1) + "%"});
  }
  if (json) return j.dump(2) + "\n";
  std::ostringstream out;
  out << "shards  " << dir << "  (vocab " << manifest->vocab_size << ", " << manifest->bad_lines
      << " bad lines skipped, sampling alpha " << config.sampling_alpha << ")\n\n"
      << Render(lang_rows) << "\n"
      << "TOK: tokens per training example. SHARE: the language's share of the training split;\n"
      << "SAMPLED: its sampling probability (p ∝ n^alpha); PER EPOCH: its entries in one epoch.\n\n"
      << Render(label_rows);
  return out.str();
}

}  // namespace polysweep
