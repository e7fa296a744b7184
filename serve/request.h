// The body of `POST /v1/predict` read and checked, and the reply written:
// what `polysweep serve` takes from and gives to a client. No LibTorch, no
// sockets: the request fuzzer drives ParsePredictRequest directly.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/tasks.h"

namespace polysweep {

// What one request may carry (the server's --max-texts, --max-text-bytes).
struct RequestLimits {
  size_t max_texts = 256;
  size_t max_text_bytes = 16384;
};

// {"texts": [...], "text_pairs": [...], "probs": true}: the texts, their
// second texts for a pair model, and whether every label's probability is
// wanted.
struct PredictRequest {
  std::vector<std::string> texts;
  std::vector<std::string> pairs;  // empty unless the model classifies pairs
  bool all_probs = false;
};

// A request the server refuses: the HTTP status (4xx) and what was wrong.
struct ApiError {
  int status = 400;
  std::string message;
};

// Reads a request body for a model that does (`pair_model`) or does not
// classify text pairs. Errors name the field and the index at fault.
std::variant<PredictRequest, ApiError> ParsePredictRequest(std::string_view body, const RequestLimits& limits,
                                                           bool pair_model);

// One text's answer, as `polysweep predict` writes it into its line.
struct TextPrediction {
  int label = 0;
  std::vector<float> probs;  // per label
  // What the model answers (common/tasks.h): a label (kClassId), a set of
  // labels (kMultiHot: `labels` predicted, each label's own probability in
  // `probs`), or a number (kRealValue: `value`; label and probs unused).
  LabelKind kind = LabelKind::kClassId;
  std::vector<int> labels;
  double value = 0;
};

// {"predictions": [{"predicted", "probability"[, "probs"]}...], "model": {...}};
// a multi-label prediction is {"predicted": [labels], "probabilities":
// [theirs][, "probs"]}, a regression's {"predicted": number}.
std::string PredictReplyJson(const std::vector<TextPrediction>& predictions, const std::vector<std::string>& labels,
                             bool all_probs, const std::string& sweep, unsigned long long trial);

// {"error": {"code": STATUS, "message": ...}}.
std::string ErrorJson(int status, const std::string& message);

}  // namespace polysweep
