// What `POST /v1/predict` accepts, what it refuses with which status and
// message, and the reply it writes; and the Prometheus exposition.
#include "serve/request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "serve/metrics.h"

namespace polysweep {
namespace {

ApiError Refused(std::string_view body, bool pair_model = false, RequestLimits limits = {}) {
  auto parsed = ParsePredictRequest(body, limits, pair_model);
  EXPECT_TRUE(std::holds_alternative<ApiError>(parsed)) << body;
  return std::holds_alternative<ApiError>(parsed) ? std::get<ApiError>(parsed) : ApiError{};
}

TEST(ServeRequest, ReadsTextsPairsAndTheProbsFlag) {
  auto single = ParsePredictRequest(R"({"texts": ["Guten Tag", "ça va"], "probs": true})", {}, false);
  ASSERT_TRUE(std::holds_alternative<PredictRequest>(single));
  EXPECT_EQ(std::get<PredictRequest>(single).texts, (std::vector<std::string>{"Guten Tag", "ça va"}));
  EXPECT_TRUE(std::get<PredictRequest>(single).pairs.empty());
  EXPECT_TRUE(std::get<PredictRequest>(single).all_probs);

  auto pair = ParsePredictRequest(R"({"texts": ["a", "b"], "text_pairs": ["c", "d"]})", {}, true);
  ASSERT_TRUE(std::holds_alternative<PredictRequest>(pair));
  EXPECT_EQ(std::get<PredictRequest>(pair).pairs, (std::vector<std::string>{"c", "d"}));
  EXPECT_FALSE(std::get<PredictRequest>(pair).all_probs);
}

TEST(ServeRequest, RefusesMalformedBodiesNamingTheProblem) {
  EXPECT_EQ(Refused("{\"texts\": [\"a\"").message, "the body is not valid JSON");
  EXPECT_EQ(Refused("[\"a\"]").message, "the body is not a JSON object: {\"texts\": [...]}");
  EXPECT_EQ(Refused("{\"texts\": [\"\xff\"]}").message, "the body is not valid UTF-8 (at byte 12)");
  EXPECT_EQ(Refused("{}").message, "missing field \"texts\" (an array of strings)");
  EXPECT_EQ(Refused(R"({"texts": "a"})").message, "\"texts\" is not an array of strings");
  EXPECT_EQ(Refused(R"({"texts": []})").message, "\"texts\" is empty");
  EXPECT_EQ(Refused(R"({"texts": ["a", 3]})").message, "texts[1] is not a string");
  EXPECT_EQ(Refused(R"({"texts": ["a"], "probs": 1})").message, "\"probs\" is not true or false");
  EXPECT_EQ(Refused(R"({"texts": ["a"], "text": "b"})").message, "unknown field \"text\" (texts, text_pairs, probs)");
  EXPECT_EQ(Refused("{}").status, 400);
}

TEST(ServeRequest, RefusesWhatIsOverTheLimitsWith413) {
  RequestLimits limits;
  limits.max_texts = 2;
  limits.max_text_bytes = 5;
  ApiError many = Refused(R"({"texts": ["a", "b", "c"]})", false, limits);
  EXPECT_EQ(many.status, 413);
  EXPECT_EQ(many.message, "\"texts\" holds 3 texts; at most 2 per request (--max-texts)");
  ApiError longer = Refused(R"({"texts": ["a", "sechs!"]})", false, limits);
  EXPECT_EQ(longer.status, 413);
  EXPECT_EQ(longer.message, "texts[1] is 6 bytes; at most 5 (--max-text-bytes)");
}

TEST(ServeRequest, PairsMustMatchTheModel) {
  EXPECT_EQ(Refused(R"({"texts": ["a"]})", true).message,
            "missing field \"text_pairs\" (an array of strings): the model classifies text pairs, one second text "
            "per text");
  EXPECT_EQ(Refused(R"({"texts": ["a", "b"], "text_pairs": ["c"]})", true).message,
            "\"text_pairs\" holds 1 texts for 2 \"texts\"");
  EXPECT_EQ(Refused(R"({"texts": ["a"], "text_pairs": ["c"]})", false).message,
            "\"text_pairs\" given, but the model classifies single texts");
}

TEST(ServeRequest, TheReplyCarriesLabelsProbabilitiesAndTheModel) {
  const std::vector<TextPrediction> predictions = {{1, {0.25f, 0.75f}}, {0, {0.5f, 0.5f}}};
  const auto reply = nlohmann::json::parse(PredictReplyJson(predictions, {"neg", "pos"}, true, "reviews", 7));
  ASSERT_EQ(reply["predictions"].size(), 2u);
  EXPECT_EQ(reply["predictions"][0]["predicted"], "pos");
  EXPECT_DOUBLE_EQ(reply["predictions"][0]["probability"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(reply["predictions"][0]["probs"]["neg"].get<double>(), 0.25);
  EXPECT_EQ(reply["predictions"][1]["predicted"], "neg");
  EXPECT_EQ(reply["model"]["sweep"], "reviews");
  EXPECT_EQ(reply["model"]["trial"], 7);
  const auto bare = nlohmann::json::parse(PredictReplyJson(predictions, {"neg", "pos"}, false, "reviews", 7));
  EXPECT_FALSE(bare["predictions"][0].contains("probs"));
  const auto error = nlohmann::json::parse(ErrorJson(413, "too big"));
  EXPECT_EQ(error["error"]["code"], 413);
  EXPECT_EQ(error["error"]["message"], "too big");
}

// A multi-label model answers with its labels and their probabilities, a
// regression model with its number.
TEST(ServeRequest, MultiLabelAndRegressionRepliesCarryTheirKindOfAnswer) {
  TextPrediction sets{2, {0.9f, 0.2f, 0.95f}, LabelKind::kMultiHot, {0, 2}};
  TextPrediction none{0, {0.1f, 0.2f, 0.3f}, LabelKind::kMultiHot, {}};
  const auto reply = nlohmann::json::parse(PredictReplyJson({sets, none}, {"delivery", "price", "quality"}, true, "s", 1));
  EXPECT_EQ(reply["predictions"][0]["predicted"], nlohmann::json::array({"delivery", "quality"}));
  EXPECT_DOUBLE_EQ(reply["predictions"][0]["probabilities"][1].get<double>(), 0.95f);
  EXPECT_DOUBLE_EQ(reply["predictions"][0]["probs"]["price"].get<double>(), 0.2f);
  EXPECT_EQ(reply["predictions"][1]["predicted"], nlohmann::json::array());
  TextPrediction value;
  value.kind = LabelKind::kRealValue;
  value.value = 4.25;
  const auto number = nlohmann::json::parse(PredictReplyJson({value}, {}, true, "s", 1));
  EXPECT_DOUBLE_EQ(number["predictions"][0]["predicted"].get<double>(), 4.25);
  EXPECT_FALSE(number["predictions"][0].contains("probs"));
}

TEST(ServeMetrics, HistogramsAreCumulativeAndRequestsCountedByRouteAndCode) {
  ServeMetrics metrics(8);
  metrics.Request("/v1/predict", 200);
  metrics.Request("/v1/predict", 200);
  metrics.Request("/v1/predict", 413);
  metrics.Predicted(3, 0.004);
  metrics.Predicted(1, 0.2);
  metrics.Batch(3, 0.003);
  metrics.Batch(8, 0.01);
  metrics.QueueDepth(5);
  metrics.Ready(true);
  const std::string text = metrics.Render();
  for (const char* line : {
           "polysweep_serve_requests_total{route=\"/v1/predict\",code=\"200\"} 2\n",
           "polysweep_serve_requests_total{route=\"/v1/predict\",code=\"413\"} 1\n",
           "polysweep_serve_errors_total 1\n",
           "polysweep_serve_texts_total 4\n",
           "polysweep_serve_request_duration_seconds_bucket{le=\"0.001\"} 0\n",
           "polysweep_serve_request_duration_seconds_bucket{le=\"0.005\"} 1\n",
           "polysweep_serve_request_duration_seconds_bucket{le=\"0.25\"} 2\n",
           "polysweep_serve_request_duration_seconds_count 2\n",
           "polysweep_serve_batch_size_bucket{le=\"2\"} 0\n",
           "polysweep_serve_batch_size_bucket{le=\"4\"} 1\n",
           "polysweep_serve_batch_size_bucket{le=\"8\"} 2\n",
           "polysweep_serve_batch_size_bucket{le=\"+Inf\"} 2\n",
           "polysweep_serve_batch_size_sum 11\n",
           "polysweep_serve_queue_depth 5\n",
           "polysweep_serve_ready 1\n",
           "# TYPE polysweep_serve_batch_size histogram\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
  EXPECT_EQ(metrics.batches(), 2u);
}

}  // namespace
}  // namespace polysweep
