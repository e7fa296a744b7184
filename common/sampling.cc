#include "common/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "common/hash.h"

namespace polysweep {
namespace {

// Fisher-Yates with our own draws (std::shuffle differs between libraries).
void Shuffle(std::vector<int64_t>& v, uint64_t seed) {
  uint64_t state = Mix64(seed);
  for (size_t i = v.size(); i > 1; --i) {
    state = Mix64(state);
    std::swap(v[i - 1], v[static_cast<size_t>(state % i)]);
  }
}

uint64_t Seed(uint64_t seed, int64_t epoch, int64_t lang, int64_t round) {
  return Mix64(Mix64(Mix64(seed ^ 0x5eed) + static_cast<uint64_t>(epoch)) + static_cast<uint64_t>(lang) * 0x10001ULL +
               static_cast<uint64_t>(round));
}

}  // namespace

std::vector<double> LanguageProbabilities(const std::vector<int64_t>& sizes, double alpha) {
  std::vector<double> p(sizes.size(), 0.0);
  double total = 0;
  for (size_t l = 0; l < sizes.size(); ++l) {
    if (sizes[l] > 0) p[l] = std::pow(static_cast<double>(sizes[l]), alpha);
    total += p[l];
  }
  for (double& x : p) x = total > 0 ? x / total : 0;
  return p;
}

std::vector<int64_t> EpochQuotas(const std::vector<int64_t>& sizes, double alpha) {
  const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  const std::vector<double> p = LanguageProbabilities(sizes, alpha);
  std::vector<int64_t> quota(sizes.size(), 0);
  std::vector<std::pair<double, size_t>> remainders;
  int64_t assigned = 0;
  for (size_t l = 0; l < sizes.size(); ++l) {
    const double exact = p[l] * static_cast<double>(total);
    quota[l] = static_cast<int64_t>(std::floor(exact));
    assigned += quota[l];
    remainders.push_back({exact - std::floor(exact), l});
  }
  // Largest remainder first; ties by language index, so the result is exact.
  std::sort(remainders.begin(), remainders.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  for (size_t i = 0; assigned < total && i < remainders.size(); ++i, ++assigned) {
    if (sizes[remainders[i].second] > 0) ++quota[remainders[i].second];
    else --assigned;
  }
  return quota;
}

std::vector<int64_t> EpochOrder(const std::vector<int64_t>& sizes, double alpha, uint64_t seed, int64_t epoch) {
  const std::vector<int64_t> quota = EpochQuotas(sizes, alpha);
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(std::accumulate(quota.begin(), quota.end(), int64_t{0})));
  int64_t base = 0;
  std::vector<int64_t> perm;
  for (size_t l = 0; l < sizes.size(); ++l) {
    int64_t left = quota[l];
    for (int64_t round = 0; left > 0; ++round) {
      perm.resize(static_cast<size_t>(sizes[l]));
      std::iota(perm.begin(), perm.end(), base);
      Shuffle(perm, Seed(seed, epoch, static_cast<int64_t>(l), round));
      const int64_t take = std::min(left, sizes[l]);
      order.insert(order.end(), perm.begin(), perm.begin() + take);
      left -= take;
    }
    base += sizes[l];
  }
  Shuffle(order, Seed(seed, epoch, -1, 0));
  return order;
}

std::string ReaderPosition::Encode() const { return std::to_string(epoch) + ":" + std::to_string(offset); }

StatusOr<ReaderPosition> ReaderPosition::Decode(const std::string& text) {
  const size_t colon = text.find(':');
  ReaderPosition p;
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    size_t used = 0;
    p.epoch = std::stoll(text.substr(0, colon), &used);
    if (used != colon) throw std::invalid_argument("epoch");
    p.offset = std::stoll(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument("offset");
  } catch (const std::exception&) {
    return Status::Error("reader position \"" + text + "\" is not EPOCH:OFFSET");
  }
  if (p.epoch < 0 || p.offset < 0) return Status::Error("reader position \"" + text + "\" is negative");
  return p;
}

StepSlice SliceForRank(int64_t epoch_size, const ReaderPosition& pos, int batch, int rank, int world) {
  StepSlice s;
  const int64_t left = std::max<int64_t>(0, epoch_size - pos.offset);
  s.global = std::min<int64_t>(static_cast<int64_t>(batch) * world, left);
  const int64_t share = s.global / world, extra = s.global % world;
  s.begin = pos.offset + rank * share + std::min<int64_t>(rank, extra);
  s.end = s.begin + share + (rank < extra ? 1 : 0);
  return s;
}

ReaderPosition Advance(const ReaderPosition& pos, int64_t consumed, int64_t epoch_size) {
  ReaderPosition next{pos.epoch, pos.offset + consumed};
  if (next.offset >= epoch_size) next = ReaderPosition{pos.epoch + 1, 0};
  return next;
}

}  // namespace polysweep
