// Fuzzes what `polysweep serve` reads from clients: the body of POST
// /v1/predict, for a single-text and a pair model, and the reply written
// from what it accepted. A refusal must be a 4xx; an accepted request must
// hold what the limits allow.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "serve/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  polysweep::RequestLimits limits;
  limits.max_texts = 16;
  limits.max_text_bytes = 64;
  for (bool pair_model : {false, true}) {
    auto parsed = polysweep::ParsePredictRequest(body, limits, pair_model);
    if (const auto* e = std::get_if<polysweep::ApiError>(&parsed)) {
      if (e->status < 400 || e->status > 499 || e->message.empty()) std::abort();
      (void)polysweep::ErrorJson(e->status, e->message);
      continue;
    }
    const auto& r = std::get<polysweep::PredictRequest>(parsed);
    if (r.texts.empty() || r.texts.size() > limits.max_texts) std::abort();
    if (pair_model != !r.pairs.empty() || (pair_model && r.pairs.size() != r.texts.size())) std::abort();
    for (const auto& t : r.texts) {
      if (t.size() > limits.max_text_bytes) std::abort();
    }
    std::vector<polysweep::TextPrediction> predictions(r.texts.size(), polysweep::TextPrediction{1, {0.25f, 0.75f}});
    (void)polysweep::PredictReplyJson(predictions, {"a", "b"}, r.all_probs, "fuzz", 1);
  }
  return 0;
}
