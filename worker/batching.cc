#include "worker/batching.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "common/tagged.h"
#include "worker/heads.h"

namespace polysweep {

int64_t SamplingPlan::epoch_size() const {
  return std::accumulate(language_sizes.begin(), language_sizes.end(), int64_t{0});
}

Targets TargetsFor(LabelKind kind, bool training) {
  if (kind == LabelKind::kRealValue) return Targets::kReal;
  if (kind == LabelKind::kMultiHot) return Targets::kMultiHot;
  if (kind != LabelKind::kTokenClassIds) return Targets::kPerText;
  return training ? Targets::kPerTokenTraining : Targets::kPerTokenScoring;
}

namespace {

static_assert(kUntaggedPiece == kIgnoreTarget, "an untagged piece is an ignored target");

// Row r's per-token targets from its label span (one value per token).
void TokenTargets(const ExampleView& v, int64_t len, bool training, torch::TensorAccessor<int64_t, 1> row) {
  for (int64_t t = 0; t < len && static_cast<uint64_t>(t) < v.labels.size; ++t) {
    const int32_t value = v.labels[static_cast<uint64_t>(t)];
    if (value >= kLaterPiece) row[t] = training ? value - kLaterPiece : kIgnoreTarget;
    else row[t] = value;
  }
}

// Each row's word feature hashes, when any example has them.
torch::Tensor WordFeatures(const std::vector<ExampleView>& views, int64_t longest, int max_length) {
  uint32_t width = 0;
  for (const ExampleView& v : views) width = std::max(width, v.features ? v.feature_width : 0u);
  if (width == 0) return {};
  const auto n = static_cast<int64_t>(views.size());
  torch::Tensor out = torch::zeros({n, longest, static_cast<int64_t>(width)}, torch::kLong);
  auto a = out.accessor<int64_t, 3>();
  for (int64_t r = 0; r < n; ++r) {
    const ExampleView& v = views[static_cast<size_t>(r)];
    if (!v.features || v.feature_width != width) continue;
    const int64_t len = std::min<int64_t>(static_cast<int64_t>(v.length), max_length);
    for (int64_t t = 0; t < len; ++t) {
      for (uint32_t k = 0; k < width; ++k) a[r][t][k] = v.features[static_cast<uint64_t>(t) * width + k];
    }
  }
  return out;
}

}  // namespace

Batch MakeBatch(const ExampleSource& source, const std::vector<int64_t>& indices, int pad_id, int max_length,
                Targets targets, int classes) {
  std::vector<ExampleView> views;
  int64_t longest = 1;
  for (int64_t i : indices) {
    views.push_back(source.Get(i));
    longest = std::max(longest, std::min<int64_t>(static_cast<int64_t>(views.back().length), max_length));
  }
  const int64_t n = static_cast<int64_t>(indices.size());
  Batch b;
  b.ids = torch::full({n, longest}, pad_id, torch::kLong);
  b.pad = torch::ones({n, longest}, torch::kBool);
  const bool per_token = targets == Targets::kPerTokenTraining || targets == Targets::kPerTokenScoring;
  b.labels = per_token                        ? torch::full({n, longest}, kIgnoreTarget, torch::kLong)
             : targets == Targets::kReal     ? torch::empty({n}, torch::kFloat)
             : targets == Targets::kMultiHot ? torch::zeros({n, classes}, torch::kFloat)
                                             : torch::empty({n}, torch::kLong);
  auto ids = b.ids.accessor<int64_t, 2>();
  auto pad = b.pad.accessor<bool, 2>();
  for (int64_t r = 0; r < n; ++r) {
    const ExampleView& v = views[static_cast<size_t>(r)];
    const int64_t len = std::min<int64_t>(static_cast<int64_t>(v.length), max_length);
    for (int64_t t = 0; t < len; ++t) {
      ids[r][t] = v.tokens[t];
      pad[r][t] = false;
    }
    if (per_token) {
      TokenTargets(v, len, targets == Targets::kPerTokenTraining, b.labels.accessor<int64_t, 2>()[r]);
    } else if (targets == Targets::kMultiHot) {
      auto row = b.labels.accessor<float, 2>()[r];
      for (uint64_t k = 0; k < v.labels.size; ++k) {
        if (v.labels[k] >= 0 && v.labels[k] < classes) row[v.labels[k]] = 1.0f;
      }
    } else if (targets == Targets::kReal) {
      float value = 0;
      if (v.labels.size > 0) std::memcpy(&value, v.labels.data, sizeof value);
      b.labels.accessor<float, 1>()[r] = value;
    } else {
      b.labels.accessor<int64_t, 1>()[r] = v.label;
    }
    b.langs.push_back(v.lang);
  }
  if (std::any_of(views.begin(), views.end(), [](const ExampleView& v) { return v.pair_start > 0; })) {
    b.types = torch::zeros({n, longest}, torch::kLong);
    for (int64_t r = 0; r < n; ++r) {
      const ExampleView& v = views[static_cast<size_t>(r)];
      const int64_t len = std::min<int64_t>(static_cast<int64_t>(v.length), max_length);
      if (v.pair_start > 0 && v.pair_start < len) b.types.narrow(0, r, 1).narrow(1, v.pair_start, len - v.pair_start).fill_(1);
    }
  }
  b.features = WordFeatures(views, longest, max_length);
  return b;
}

Batch OnDevice(const Batch& batch, const Device& to) {
  const torch::Device device = to.type == DeviceType::kCpu ? torch::Device(torch::kCPU)
                                                           : torch::Device(torch::kCUDA, static_cast<int8_t>(to.index));
  Batch b;
  b.ids = batch.ids.defined() ? batch.ids.to(device) : batch.ids;
  b.pad = batch.pad.defined() ? batch.pad.to(device) : batch.pad;
  b.labels = batch.labels.defined() ? batch.labels.to(device) : batch.labels;
  b.types = batch.types.defined() ? batch.types.to(device) : batch.types;
  b.features = batch.features.defined() ? batch.features.to(device) : batch.features;
  b.langs = batch.langs;
  return b;
}

}  // namespace polysweep
