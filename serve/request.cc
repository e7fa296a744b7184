#include "serve/request.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "common/example.h"

namespace polysweep {

namespace {

ApiError BadRequest(std::string message) { return ApiError{400, std::move(message)}; }

// `field`, an array of 1..max_texts strings of at most max_text_bytes each,
// into `out`; the error names the field and the index.
std::optional<ApiError> ReadTexts(const nlohmann::json& body, const char* field, const RequestLimits& limits,
                                  std::vector<std::string>* out) {
  const auto it = body.find(field);
  if (it == body.end()) return BadRequest(std::string("missing field \"") + field + "\" (an array of strings)");
  if (!it->is_array()) return BadRequest(std::string("\"") + field + "\" is not an array of strings");
  if (it->empty()) return BadRequest(std::string("\"") + field + "\" is empty");
  if (it->size() > limits.max_texts) {
    return ApiError{413, std::string("\"") + field + "\" holds " + std::to_string(it->size()) +
                             " texts; at most " + std::to_string(limits.max_texts) + " per request (--max-texts)"};
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& t = (*it)[i];
    const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    if (!t.is_string()) return BadRequest(where + " is not a string");
    const auto& s = t.get_ref<const std::string&>();
    if (s.size() > limits.max_text_bytes) {
      return ApiError{413, where + " is " + std::to_string(s.size()) + " bytes; at most " +
                               std::to_string(limits.max_text_bytes) + " (--max-text-bytes)"};
    }
    out->push_back(s);
  }
  return std::nullopt;
}

}  // namespace

std::variant<PredictRequest, ApiError> ParsePredictRequest(std::string_view body, const RequestLimits& limits,
                                                           bool pair_model) {
  const nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) {
    // The parser refuses invalid UTF-8 too; only then is the body scanned, to name where.
    if (const size_t bad = FindInvalidUtf8(body); bad != std::string_view::npos) {
      return BadRequest("the body is not valid UTF-8 (at byte " + std::to_string(bad) + ")");
    }
    return BadRequest("the body is not valid JSON");
  }
  if (!j.is_object()) return BadRequest("the body is not a JSON object: {\"texts\": [...]}");
  PredictRequest request;
  if (auto e = ReadTexts(j, "texts", limits, &request.texts)) return *e;
  if (pair_model) {
    if (auto e = ReadTexts(j, "text_pairs", limits, &request.pairs)) {
      if (!j.contains("text_pairs")) e->message += ": the model classifies text pairs, one second text per text";
      return *e;
    }
    if (request.pairs.size() != request.texts.size()) {
      return BadRequest("\"text_pairs\" holds " + std::to_string(request.pairs.size()) + " texts for " +
                        std::to_string(request.texts.size()) + " \"texts\"");
    }
  } else if (j.contains("text_pairs")) {
    return BadRequest("\"text_pairs\" given, but the model classifies single texts");
  }
  if (const auto p = j.find("probs"); p != j.end()) {
    if (!p->is_boolean()) return BadRequest("\"probs\" is not true or false");
    request.all_probs = p->get<bool>();
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "texts" && key != "text_pairs" && key != "probs") {
      return BadRequest("unknown field \"" + key + "\" (texts, text_pairs, probs)");
    }
  }
  return request;
}

std::string PredictReplyJson(const std::vector<TextPrediction>& predictions, const std::vector<std::string>& labels,
                             bool all_probs, const std::string& sweep, unsigned long long trial) {
  nlohmann::json out = nlohmann::json::array();
  for (const TextPrediction& p : predictions) {
    if (p.kind == LabelKind::kRealValue) {
      out.push_back({{"predicted", p.value}});
      continue;
    }
    const auto k = static_cast<size_t>(p.label);
    nlohmann::json row;
    if (p.kind == LabelKind::kMultiHot) {
      row["predicted"] = nlohmann::json::array();
      row["probabilities"] = nlohmann::json::array();
      for (int c : p.labels) {
        if (c < 0 || static_cast<size_t>(c) >= labels.size() || static_cast<size_t>(c) >= p.probs.size()) continue;
        row["predicted"].push_back(labels[static_cast<size_t>(c)]);
        row["probabilities"].push_back(p.probs[static_cast<size_t>(c)]);
      }
    } else if (k < labels.size() && k < p.probs.size()) {
      row = {{"predicted", labels[k]}, {"probability", p.probs[k]}};
    }
    if (all_probs) {
      nlohmann::json probs = nlohmann::json::object();
      for (size_t c = 0; c < p.probs.size() && c < labels.size(); ++c) probs[labels[c]] = p.probs[c];
      row["probs"] = std::move(probs);
    }
    out.push_back(std::move(row));
  }
  return nlohmann::json{{"predictions", std::move(out)}, {"model", {{"sweep", sweep}, {"trial", trial}}}}.dump();
}

std::string ErrorJson(int status, const std::string& message) {
  return nlohmann::json{{"error", {{"code", status}, {"message", message}}}}.dump(-1, ' ', false,
                                                                                  nlohmann::json::error_handler_t::replace);
}

}  // namespace polysweep
