// The HTTP server on a free loopback port, with a model function in place
// of LibTorch: real requests over real sockets (cpp-httplib's client), each
// bad input's status and message, the limits, the token rule, readiness,
// batching seen in /metrics, and a drain that answers the requests in flight.
#include "serve/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

namespace polysweep {
namespace {

// Label 1 ("long") for texts over 5 bytes, else 0 ("short").
StatusOr<std::vector<TextPrediction>> LengthModel(const std::vector<std::string>& texts, const std::vector<std::string>&) {
  std::vector<TextPrediction> out;
  for (const auto& t : texts) {
    const bool longer = t.size() > 5;
    out.push_back(TextPrediction{longer ? 1 : 0, longer ? std::vector<float>{0.1f, 0.9f} : std::vector<float>{0.8f, 0.2f}});
  }
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  // Starts a server on a free port; `ready`: with the model set.
  void Start(ServeOptions options = {}, BatcherOptions batching = {}, InferFn model = LengthModel, bool ready = true) {
    options.port = 0;
    metrics_ = std::make_unique<ServeMetrics>(batching.max_batch);
    server_ = std::make_unique<PredictServer>(options, metrics_.get());
    ASSERT_TRUE(server_->Bind().ok());
    batcher_ = std::make_unique<Batcher>(batching, std::move(model), metrics_.get());
    serving_ = std::async(std::launch::async, [this] { return server_->Serve(); });
    if (ready) SetModel();
  }
  void SetModel() { server_->SetModel(ServedModel{{"short", "long"}, false, "unit", 3}, batcher_.get()); }
  void TearDown() override {
    if (server_) {
      server_->Drain();
      EXPECT_TRUE(serving_.get().ok());
    }
  }
  httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(30, 0);
    return c;
  }
  // POSTs `body` to /v1/predict; the status and the parsed reply.
  std::pair<int, nlohmann::json> Post(const std::string& body, const httplib::Headers& headers = {}) {
    auto c = Client();
    auto res = c.Post("/v1/predict", headers, body, "application/json");
    if (!res) return {0, nullptr};
    return {res->status, nlohmann::json::parse(res->body, nullptr, false)};
  }

  std::unique_ptr<ServeMetrics> metrics_;
  std::unique_ptr<PredictServer> server_;
  std::unique_ptr<Batcher> batcher_;
  std::future<Status> serving_;
};

TEST_F(ServerTest, AnswersPredictionsProbesAndMetrics) {
  Start();
  auto [status, reply] = Post(R"({"texts": ["hi", "a longer text"], "probs": true})");
  ASSERT_EQ(status, 200) << reply;
  EXPECT_EQ(reply["predictions"][0]["predicted"], "short");
  EXPECT_EQ(reply["predictions"][1]["predicted"], "long");
  EXPECT_FLOAT_EQ(reply["predictions"][1]["probability"].get<float>(), 0.9f);
  EXPECT_FLOAT_EQ(reply["predictions"][1]["probs"]["short"].get<float>(), 0.1f);
  EXPECT_EQ(reply["model"]["trial"], 3);
  auto c = Client();
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(c.Get("/readyz")->status, 200);
  auto metrics = c.Get("/metrics");
  ASSERT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(metrics->body.find("polysweep_serve_requests_total{route=\"/v1/predict\",code=\"200\"} 1"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("polysweep_serve_texts_total 2"), std::string::npos) << metrics->body;
}

TEST_F(ServerTest, EachBadInputGetsItsStatusAndAMessage) {
  ServeOptions options;
  options.max_body = 200;
  options.limits.max_texts = 3;
  options.limits.max_text_bytes = 50;
  Start(options);
  const std::vector<std::tuple<std::string, int, std::string>> cases = {
      {"not json", 400, "the body is not valid JSON"},
      {"{\"texts\": [\"\xc3\x28\"]}", 400, "the body is not valid UTF-8 (at byte 12)"},
      {R"({"texts": ["a", "b", "c", "d"]})", 413, "at most 3 per request (--max-texts)"},
      {R"({"texts": [")" + std::string(60, 'x') + R"("]})", 413, "texts[0] is 60 bytes; at most 50"},
      {R"({"texts": [")" + std::string(300, 'x') + R"("]})", 413, "larger than this server takes (--max-body)"},
      {R"({"texts": ["a"], "text_pairs": ["b"]})", 400, "the model classifies single texts"},
  };
  for (const auto& [body, code, message] : cases) {
    auto [status, reply] = Post(body);
    EXPECT_EQ(status, code) << body;
    EXPECT_EQ(reply["error"]["code"], code) << body;
    EXPECT_NE(reply["error"]["message"].get<std::string>().find(message), std::string::npos) << reply;
  }
  auto c = Client();
  auto missing = c.Get("/v2/nothing");
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("no route GET /v2/nothing"), std::string::npos) << missing->body;
  auto wrong_method = c.Get("/v1/predict");
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->get_header_value("Allow"), "POST");
  // Nothing a client sent stopped it.
  EXPECT_EQ(Post(R"({"texts": ["fine"]})").first, 200);
  EXPECT_NE(c.Get("/metrics")->body.find("polysweep_serve_errors_total 8"), std::string::npos);
}

TEST_F(ServerTest, WithATokenEveryRequestButTheProbesMustCarryIt) {
  ServeOptions options;
  options.token = "0123456789abcdef0123";
  Start(options);
  auto [refused, why] = Post(R"({"texts": ["a"]})");
  EXPECT_EQ(refused, 401);
  EXPECT_NE(why["error"]["message"].get<std::string>().find("Authorization: Bearer"), std::string::npos);
  EXPECT_EQ(Post(R"({"texts": ["a"]})", {{"Authorization", "Bearer wrong-token-of-some-length"}}).first, 401);
  EXPECT_EQ(Post(R"({"texts": ["a"]})", {{"Authorization", "Bearer 0123456789abcdef0123"}}).first, 200);
  auto c = Client();
  EXPECT_EQ(c.Get("/metrics")->status, 401);
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(c.Get("/readyz")->status, 200);
}

TEST(ServerBind, ANonLoopbackAddressNeedsAToken) {
  ServeOptions options;
  options.bind = "0.0.0.0";
  options.port = 0;
  ServeMetrics metrics(8);
  PredictServer server(options, &metrics);
  Status bound = server.Bind();
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.message().find("--bind 0.0.0.0 reaches beyond this machine: give --token-file"), std::string::npos);
  EXPECT_TRUE(IsLoopback("127.0.0.1"));
  EXPECT_TRUE(IsLoopback("::1"));
  EXPECT_FALSE(IsLoopback("10.0.0.1"));
}

TEST_F(ServerTest, NotReadyUntilTheModelIsSet) {
  Start({}, {}, LengthModel, /*ready=*/false);
  auto c = Client();
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(c.Get("/readyz")->status, 503);
  auto [status, reply] = Post(R"({"texts": ["a"]})");
  EXPECT_EQ(status, 503);
  EXPECT_NE(reply["error"]["message"].get<std::string>().find("still loading"), std::string::npos);
  SetModel();
  EXPECT_EQ(c.Get("/readyz")->status, 200);
  EXPECT_EQ(Post(R"({"texts": ["a"]})").first, 200);
}

TEST_F(ServerTest, ConcurrentRequestsAreBatchedAsTheMetricsShow) {
  BatcherOptions batching;
  batching.max_batch = 16;
  batching.max_wait_ms = 250;
  Start({}, batching);
  std::vector<std::future<int>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::async(std::launch::async, [this] { return Post(R"({"texts": ["abc", "abcdefg"]})").first; }));
  }
  for (auto& c : clients) EXPECT_EQ(c.get(), 200);
  // 16 texts from 8 requests in fewer than 8 forward passes.
  EXPECT_LT(metrics_->batches(), 8u);
  const std::string text = Client().Get("/metrics")->body;
  EXPECT_NE(text.find("polysweep_serve_batch_size_sum 16"), std::string::npos) << text;
}

TEST_F(ServerTest, AFullQueueGets503WithRetryAfter) {
  BatcherOptions batching;
  batching.max_queue = 2;
  Start({}, batching);
  auto c = Client();
  auto res = c.Post("/v1/predict", R"({"texts": ["a", "b", "c"]})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  EXPECT_NE(res->body.find("the queue is full"), std::string::npos) << res->body;
}

TEST_F(ServerTest, DrainAnswersTheRequestsInFlight) {
  // A slow model: every request is still waiting when the drain begins.
  auto slow = [](const std::vector<std::string>& texts, const std::vector<std::string>& pairs) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    return LengthModel(texts, pairs);
  };
  BatcherOptions batching;
  batching.max_batch = 4;
  Start({}, batching, slow);
  std::vector<std::future<int>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::async(std::launch::async, [this] { return Post(R"({"texts": ["in flight"]})").first; }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  server_->Drain();
  for (auto& c : clients) EXPECT_EQ(c.get(), 200);  // none dropped
  EXPECT_TRUE(serving_.get().ok());
  server_.reset();
  EXPECT_EQ(metrics_->batches(), 2u);  // 4 + 2
}

}  // namespace
}  // namespace polysweep
