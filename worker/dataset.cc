#include "worker/dataset.h"

#include <fstream>
#include <random>

#include "common/hash.h"

namespace polysweep {

StatusOr<TokenizedSplit> LoadSplit(const std::string& path, const Tokenizer& tokenizer,
                                   int max_length, int num_labels, int num_langs) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open prepared split");
  TokenizedSplit split;
  split.offsets.push_back(0);
  std::string line;
  std::vector<int> ids;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const size_t a = line.find('\t');
    const size_t b = a == std::string::npos ? a : line.find('\t', a + 1);
    if (b == std::string::npos) return Status::Error(path + ":" + std::to_string(lineno) + ": malformed line");
    const int label = std::atoi(line.c_str());
    const int lang = std::atoi(line.c_str() + a + 1);
    if (label < 0 || label >= num_labels || lang < 0 || lang >= num_langs) {
      return Status::Error(path + ":" + std::to_string(lineno) + ": label or language id out of range");
    }
    ids.clear();
    Status st = tokenizer.Encode(std::string_view(line).substr(b + 1), static_cast<size_t>(max_length), &ids);
    if (!st.ok()) return Status::Error(path + ":" + std::to_string(lineno) + ": " + st.message());
    if (ids.empty()) ids.push_back(tokenizer.unk_id());
    split.tokens.insert(split.tokens.end(), ids.begin(), ids.end());
    split.offsets.push_back(static_cast<int64_t>(split.tokens.size()));
    split.labels.push_back(label);
    split.langs.push_back(lang);
  }
  if (split.size() == 0) return Status::Error(path + ": empty split");
  return split;
}

std::vector<int64_t> EpochOrder(size_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<int64_t>(i);
  // Fisher-Yates with our own draws: std::shuffle is not the same everywhere.
  uint64_t state = Mix64(seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(epoch));
  for (size_t i = n; i > 1; --i) {
    state = Mix64(state);
    const size_t j = static_cast<size_t>(state % i);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

std::vector<int64_t> RankBatch(const std::vector<int64_t>& order, int64_t step_in_epoch, int batch, int rank,
                               int world) {
  const size_t begin = static_cast<size_t>(step_in_epoch) * batch * world + static_cast<size_t>(rank) * batch;
  std::vector<int64_t> out;
  for (size_t i = begin; i < begin + static_cast<size_t>(batch) && i < order.size(); ++i) out.push_back(order[i]);
  return out;
}

}  // namespace polysweep
