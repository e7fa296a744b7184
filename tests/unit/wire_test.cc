// Tests of the ZeroMQ envelope framing (common/wire.h) over real TCP sockets
// on the loopback interface.
#include "common/wire.h"
#include "common/wire_config.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <zmq_addon.hpp>

namespace polysweep {
namespace {

using namespace std::chrono_literals;

// One request as the ROUTER sees it.
struct Request {
  std::string identity;
  wire::Envelope env;
};

class WireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConfigureSocket(router_);
    router_.set(zmq::sockopt::rcvtimeo, 10000);  // a broken test fails, never hangs
    router_.bind("tcp://127.0.0.1:*");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    ASSERT_EQ(endpoint_.rfind("tcp://127.0.0.1:", 0), 0u) << endpoint_;
  }

  // Receives [identity, "", payload] on the ROUTER.
  Request Receive() {
    std::vector<zmq::message_t> frames;
    auto n = zmq::recv_multipart(router_, std::back_inserter(frames));
    Request r;
    EXPECT_TRUE(n.has_value()) << "no request within the receive timeout";
    if (!n) return r;
    EXPECT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[1].size(), 0u);
    r.identity = frames[0].to_string();
    auto env = DecodeEnvelope(frames.back().data(), frames.back().size());
    EXPECT_TRUE(env.ok()) << env.status().message();
    if (env.ok()) r.env = *env;
    return r;
  }

  // Sends raw frames after the identity.
  void SendFrames(const std::string& identity, const std::vector<std::string>& frames) {
    router_.send(zmq::buffer(identity), zmq::send_flags::sndmore);
    for (size_t i = 0; i < frames.size(); ++i) {
      router_.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore
                                                                  : zmq::send_flags::none);
    }
  }

  void Reply(const std::string& identity, wire::Envelope env) {
    if (env.version() == 0) env.set_version(kProtocolVersion);
    std::string payload;
    ASSERT_TRUE(EncodeEnvelope(env, &payload).ok());
    SendFrames(identity, {"", payload});
  }

  static wire::Envelope AckFor(const Request& r, const std::string& tag) {
    wire::Envelope e;
    e.set_seq(r.env.seq());
    e.set_sweep(tag);
    e.mutable_ack();
    return e;
  }

  static wire::Envelope Hello(int pid) {
    wire::Envelope e;
    e.set_sweep("s");
    e.set_trial(3);
    e.set_rank(1);
    e.mutable_hello()->set_pid(pid);
    return e;
  }

  zmq::context_t ctx_;
  zmq::socket_t router_{ctx_, zmq::socket_type::router};
  std::string endpoint_;
};

TEST_F(WireTest, CallGetsMatchingReply) {
  RequestClient client(ctx_, endpoint_);
  std::thread server([&] {
    for (int i = 0; i < 2; ++i) {
      Request r = Receive();
      EXPECT_EQ(r.env.version(), kProtocolVersion);
      EXPECT_EQ(r.env.trial(), 3u);
      EXPECT_EQ(r.env.hello().pid(), 100 + i);
      Reply(r.identity, AckFor(r, "echo " + std::to_string(r.env.hello().pid())));
    }
  });
  auto first = client.Call(Hello(100), 5s);
  auto second = client.Call(Hello(101), 5s);
  server.join();
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(first->seq(), 1u);
  EXPECT_EQ(first->sweep(), "echo 100");
  EXPECT_TRUE(first->has_ack());
  EXPECT_EQ(second->seq(), 2u);
  EXPECT_EQ(second->sweep(), "echo 101");
}

TEST_F(WireTest, ReplyWithWrongSeqIsSkipped) {
  RequestClient client(ctx_, endpoint_);
  std::thread server([&] {
    Request r = Receive();
    wire::Envelope stale = AckFor(r, "stale");
    stale.set_seq(r.env.seq() + 41);
    Reply(r.identity, stale);
    Reply(r.identity, AckFor(r, "right"));
  });
  auto reply = client.Call(Hello(1), 5s);
  server.join();
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(reply->sweep(), "right");
  EXPECT_EQ(reply->seq(), 1u);
}

TEST_F(WireTest, TimeoutNamesEndpoint) {
  RequestClient client(ctx_, endpoint_);
  const auto start = std::chrono::steady_clock::now();
  auto reply = client.Call(Hello(1), 150ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.status().message().find(endpoint_), std::string::npos) << reply.status().message();
  EXPECT_NE(reply.status().message().find("no reply"), std::string::npos) << reply.status().message();
  EXPECT_GE(elapsed, 140ms);
  EXPECT_LT(elapsed, 3s);
  Receive();  // the request did arrive
}

TEST_F(WireTest, LateReplyToTimedOutRequestIsDropped) {
  RequestClient client(ctx_, endpoint_);
  auto lost = client.Call(Hello(1), 50ms);
  ASSERT_FALSE(lost.ok());
  std::thread server([&] {
    Request first = Receive();
    Request second = Receive();
    EXPECT_EQ(first.env.seq(), 1u);
    EXPECT_EQ(second.env.seq(), 2u);
    Reply(first.identity, AckFor(first, "late"));
    Reply(second.identity, AckFor(second, "current"));
  });
  auto reply = client.Call(Hello(2), 5s);
  server.join();
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(reply->sweep(), "current");
  EXPECT_EQ(reply->seq(), 2u);
}

TEST_F(WireTest, MalformedRepliesAreErrors) {
  RequestClient client(ctx_, endpoint_);
  std::thread server([&] {
    Request r = Receive();
    SendFrames(r.identity, {"no delimiter frame"});
    r = Receive();
    wire::Envelope future = AckFor(r, "v2");
    future.set_version(kProtocolVersion + 1);
    Reply(r.identity, future);
  });
  auto framing = client.Call(Hello(1), 5s);
  ASSERT_FALSE(framing.ok());
  EXPECT_NE(framing.status().message().find("unexpected framing"), std::string::npos)
      << framing.status().message();
  EXPECT_NE(framing.status().message().find(endpoint_), std::string::npos);
  auto version = client.Call(Hello(2), 5s);
  server.join();
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.status().message().find("protocol version " + std::to_string(kProtocolVersion + 1) +
                                                ", expected " + std::to_string(kProtocolVersion)), std::string::npos)
      << version.status().message();
}

TEST(Envelope, EncodeDecodeRoundTrip) {
  wire::Envelope e;
  e.set_version(kProtocolVersion);
  e.set_sweep("sweep-å");
  e.set_trial(12);
  e.set_attempt(2);
  e.set_rank(-1);
  e.set_seq(99);
  auto* eval = e.mutable_evaluation();
  eval->set_step(300);
  eval->set_macro_f1(0.5);
  eval->add_languages()->set_lang("ja");
  std::string bytes;
  ASSERT_TRUE(EncodeEnvelope(e, &bytes).ok());
  auto back = DecodeEnvelope(bytes.data(), bytes.size());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->SerializeAsString(), bytes);
  EXPECT_EQ(back->evaluation().languages(0).lang(), "ja");
  EXPECT_EQ(back->body_case(), wire::Envelope::kEvaluation);
}

TEST(Envelope, DecodeRejectsGarbage) {
  const std::string cases[] = {
      std::string(10, '\xff'),     // a varint that never ends
      std::string("\x0a\x05", 2) + "ab",  // field 1 claims 5 bytes, has 2
      std::string("\x07", 1),           // wire type 7 does not exist
      std::string("\x00\x01", 2),       // field number 0
  };
  for (const std::string& bytes : cases) {
    auto env = DecodeEnvelope(bytes.data(), bytes.size());
    ASSERT_FALSE(env.ok()) << "accepted " << bytes.size() << " garbage bytes";
    EXPECT_EQ(env.status().message(), "malformed envelope");
  }
}

TEST(Envelope, DecodeRejectsWrongProtocolVersion) {
  for (uint32_t version : {0u, kProtocolVersion + 1, 1000u}) {
    wire::Envelope e;
    e.set_version(version);
    e.mutable_ack();
    const std::string bytes = e.SerializeAsString();
    auto env = DecodeEnvelope(bytes.data(), bytes.size());
    ASSERT_FALSE(env.ok()) << version;
    EXPECT_EQ(env.status().message(), "protocol version " + std::to_string(version) + ", expected " +
                                          std::to_string(kProtocolVersion));
  }
}

TEST(Envelope, OversizedMessagesRefused) {
  // A well-formed envelope just over the limit: decoder refuses by size.
  wire::Envelope big;
  big.set_version(kProtocolVersion);
  big.set_sweep(std::string(kMaxMessageBytes, 'x'));
  const std::string bytes = big.SerializeAsString();
  ASSERT_GT(static_cast<int64_t>(bytes.size()), kMaxMessageBytes);
  auto env = DecodeEnvelope(bytes.data(), bytes.size());
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().message(), "message too large");

  std::string out;
  Status s = EncodeEnvelope(big, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("exceeds the limit"), std::string::npos) << s.message();

  // Just under the limit is fine.
  big.set_sweep(std::string(kMaxMessageBytes - 16, 'x'));
  ASSERT_TRUE(EncodeEnvelope(big, &out).ok());
  EXPECT_TRUE(DecodeEnvelope(out.data(), out.size()).ok());
}

TEST(Envelope, ProgressBatchesAreBoundedOrderedAndCheckedReportByReport) {
  auto batch = [](std::vector<int64_t> steps) {
    wire::Envelope e;
    for (int64_t step : steps) {
      wire::Progress* p = e.mutable_progress_batch()->add_reports();
      p->set_step(step);
      p->set_loss(0.5);
    }
    if (steps.empty()) e.mutable_progress_batch();
    return e;
  };
  EXPECT_TRUE(ValidateEnvelope(batch({1, 2, 5})).ok());
  const struct {
    wire::Envelope env;
    std::string error;
  } bad[] = {
      {batch({}), "progress batch of 0 reports (1 to 1024)"},
      {batch({1, 3, 3}), "progress batch steps not increasing"},
      {batch({2, 1}), "progress batch steps not increasing"},
      {batch({1, 0}), "progress counters out of range"},
  };
  for (const auto& [env, error] : bad) {
    Status s = ValidateEnvelope(env);
    ASSERT_FALSE(s.ok()) << error;
    EXPECT_EQ(s.message(), error);
  }
  std::vector<int64_t> many(kMaxBatchReports + 1);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int64_t>(i) + 1;
  EXPECT_FALSE(ValidateEnvelope(batch(many)).ok());
  many.pop_back();
  EXPECT_TRUE(ValidateEnvelope(batch(many)).ok());
  wire::Envelope nan = batch({1, 2});
  nan.mutable_progress_batch()->mutable_reports(1)->set_loss(std::nan(""));
  EXPECT_EQ(ValidateEnvelope(nan).message(), "progress values not finite");
}

// The config's sections survive the trip to the ranks field for field, and
// an older coordinator's empty task and metric read as the defaults.
TEST(WireConfig, ModelAndMetricRoundTripAndEmptyMeansTheDefault) {
  ModelConfig model;
  model.layers = 3;
  model.hidden = 48;
  model.heads = 6;
  model.ffn = 96;
  model.max_length = 40;
  model.init = "/models/enc";
  model.task = "masked_lm";
  wire::ModelSpec spec;
  ModelToWire(model, &spec);
  const ModelConfig back = ModelFromWire(spec);
  EXPECT_EQ(back.layers, 3);
  EXPECT_EQ(back.hidden, 48);
  EXPECT_EQ(back.heads, 6);
  EXPECT_EQ(back.ffn, 96);
  EXPECT_EQ(back.max_length, 40);
  EXPECT_EQ(back.init, "/models/enc");
  EXPECT_EQ(back.task, "masked_lm");
  spec.clear_task();
  EXPECT_EQ(ModelFromWire(spec).task, "sequence_classification");

  const MetricConfig metric{"language_f1", "worst", false, 0.25};
  wire::MetricSpec mspec;
  MetricToWire(metric, &mspec);
  const MetricConfig mback = MetricFromWire(mspec);
  EXPECT_EQ(mback.name, "language_f1");
  EXPECT_EQ(mback.over, "worst");
  EXPECT_FALSE(mback.maximize);
  EXPECT_DOUBLE_EQ(mback.min_language_f1, 0.25);
  const MetricConfig none = MetricFromWire(wire::MetricSpec{});
  EXPECT_EQ(none.name, "macro_f1");
  EXPECT_TRUE(none.maximize);

  TrialResources trial;
  trial.backend = "nccl";
  trial.bucket_mb = 7;
  trial.overlap = false;
  trial.collective_timeout_seconds = 12;
  wire::Assignment a;
  TrialResourcesToWire(trial, &a);
  EXPECT_EQ(a.backend(), "nccl");
  EXPECT_DOUBLE_EQ(a.bucket_mb(), 7);
  EXPECT_FALSE(a.overlap());
  EXPECT_DOUBLE_EQ(a.collective_timeout_seconds(), 12);
  EXPECT_EQ(a.checkpoint_every(), trial.checkpoint_every);
}

}  // namespace
}  // namespace polysweep
