// The control plane under attack: a real Coordinator with CURVE and its ZAP
// handler on a loopback TCP port, a trial "running" through a fake launcher,
// and 1,000 hostile connection attempts (no key, an unknown key, a stolen
// trial id, an old attempt). None changes state, all are counted, and a
// valid rank on the same socket keeps reporting throughout.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/config_names.h"
#include "common/config.h"
#include "common/manifest.h"
#include "common/wire.h"
#include "coordinator/coordinator.h"
#include "coordinator/searcher.h"
#include "coordinator/security.h"
#include "launcher/launcher.h"
#include "tests/common/fake_launcher.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using testing_util::FakeLauncher;

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "security_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/data.jsonl") << "{}\n";
    auto config = ParseSweepConfig("name: sec\noutput_dir: " + dir_ + "\ndata: {files: [" + dir_ +
                                       "/data.jsonl]}\nsecurity: {curve: on}\n"
                                       "search: {space: {lr: {type: choice, values: [0.001]}}}\n"
                                       "budget: {max_trials: 1, max_steps: 100}\n",
                                   "sec.yaml", RegisteredConfigNames());
    ASSERT_TRUE(config.ok()) << config.status().message();
    config_ = *config;
    ASSERT_TRUE(config_.curve_enabled());
    manifest_.labels = {"a", "b"};
    manifest_.languages = {"de"};
    manifest_.counts["de"] = {100, 10, 10};
    auto journal = Journal::Create(dir_ + "/journal.db", config_);
    ASSERT_TRUE(journal.ok()) << journal.status().message();
    journal_ = std::move(*journal);
    auto searcher = MakeSearcher(config_.search, 1);
    ASSERT_TRUE(searcher.ok());
    searcher_ = std::move(*searcher);
    auto security = LoadSweepSecurity(config_.security.keys_dir);
    ASSERT_TRUE(security.ok()) << security.status().message();
    EXPECT_EQ(fs::status(config_.security.keys_dir + "/worker.key").permissions() & fs::perms::group_all,
              fs::perms::none);
    CoordinatorOptions options;
    options.worker_binary = "polysweep-worker";
    options.security = *security;
    options.stop = &stop_;
    options.poll_interval_ms = 20;
    coordinator_ = std::make_unique<Coordinator>(config_, manifest_, journal_.get(), &launcher_, searcher_.get(),
                                                 options);
    ASSERT_TRUE(coordinator_->Bind().ok());
    run_ = std::thread([this] { run_status_ = coordinator_->Run(); });
    SweepKeyFiles keys(config_.security.keys_dir);
    server_public_ = *LoadPublicKey(keys.coordinator() + ".pub");
    worker_keys_ = *LoadKeyPair(keys.worker() + ".key");
    owner_keys_ = *LoadKeyPair(keys.owner() + ".key");
  }

  void TearDown() override {
    stop_ = true;
    if (run_.joinable()) run_.join();
    coordinator_.reset();
    journal_.reset();
    fs::remove_all(dir_);
  }

  wire::Envelope Report(uint64_t trial, uint32_t attempt, int64_t step) {
    wire::Envelope env;
    env.set_sweep("sec");
    env.set_trial(trial);
    env.set_attempt(attempt);
    auto* p = env.mutable_progress();
    p->set_step(step);
    p->set_loss(1.0);
    p->set_max_steps(100);
    return env;
  }

  StatusOr<wire::Envelope> Call(const CurveKeyPair& keys, wire::Envelope env) {
    RequestClient client(ctx_, coordinator_->endpoint(), CurveClientKeys{server_public_, keys});
    return client.Call(std::move(env), 5000ms);
  }

  wire::StatusReply Status() {
    wire::Envelope req;
    req.mutable_status_request();
    auto reply = Call(owner_keys_, req);
    EXPECT_TRUE(reply.ok()) << reply.status().message();
    return reply.ok() ? reply->status_reply() : wire::StatusReply();
  }

  // Hostile clients that cannot complete a handshake: sends, then waits until
  // the coordinator counted the refusals.
  void RefusedClients(int n, bool with_unknown_key) {
    const uint32_t before = Status().rejected_connections();
    std::vector<zmq::socket_t> clients;
    for (int i = 0; i < n; ++i) {
      clients.emplace_back(ctx_, zmq::socket_type::dealer);
      zmq::socket_t& s = clients.back();
      s.set(zmq::sockopt::linger, 0);
      if (with_unknown_key) ConfigureCurveClient(s, CurveClientKeys{server_public_, *GenerateKeyPair()});
      s.connect(coordinator_->endpoint());
      std::string payload;
      ASSERT_TRUE(EncodeEnvelope(Report(1, 1, 99), &payload).ok());
      s.send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      s.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    }
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (Status().rejected_connections() < before + static_cast<uint32_t>(n)) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "refusals were not counted";
      std::this_thread::sleep_for(10ms);  // polling a counter, with a deadline
    }
  }

  std::string dir_;
  SweepConfig config_;
  Manifest manifest_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<Searcher> searcher_;
  FakeLauncher launcher_;
  std::unique_ptr<Coordinator> coordinator_;
  std::atomic<bool> stop_{false};
  std::thread run_;
  polysweep::Status run_status_;
  zmq::context_t ctx_{1};
  std::string server_public_;
  CurveKeyPair worker_keys_, owner_keys_;
};

TEST_F(SecurityTest, ThousandHostileAttemptsChangeNothingAndAreCounted) {
  // The trial is launched (fake) with the sweep's key directory.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (Status().trials_size() < 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(std::find(launcher_.argv.begin(), launcher_.argv.end(), "--keys"), launcher_.argv.end());
  wire::Envelope hello;
  hello.set_sweep("sec");
  hello.set_trial(1);
  hello.set_attempt(1);
  hello.mutable_hello()->set_world_size(1);
  auto assignment = Call(worker_keys_, hello);
  ASSERT_TRUE(assignment.ok()) << assignment.status().message();
  ASSERT_TRUE(assignment->has_assignment());

  int64_t step = 0, valid_reports = 0;
  auto valid_report = [&] {
    auto ack = Call(worker_keys_, Report(1, 1, ++step));
    ASSERT_TRUE(ack.ok()) << ack.status().message();
    ASSERT_TRUE(ack->has_ack()) << "valid rank rejected: " << ack->reject().reason();
    ++valid_reports;
  };
  valid_report();
  int attempts = 0;
  for (int round = 0; round < 10; ++round) {
    RefusedClients(25, false);  // no key at all
    RefusedClients(25, true);   // a key the coordinator does not know
    attempts += 50;
    valid_report();
    for (int i = 0; i < 25; ++i) {  // the sweep's key, someone else's trial
      auto r = Call(worker_keys_, Report(7, 1, 1));
      ASSERT_TRUE(r.ok());
      EXPECT_TRUE(r->has_reject());
      auto old = Call(worker_keys_, Report(1, 0, 50));  // a fenced-off attempt
      ASSERT_TRUE(old.ok());
      EXPECT_TRUE(old->has_reject());
      EXPECT_NE(old->reject().reason().find("stale attempt"), std::string::npos);
      attempts += 2;
    }
    valid_report();
  }
  // A rank's key cannot stop a trial; the owner's can.
  wire::Envelope stop;
  stop.mutable_control_request()->set_trial(1);
  stop.mutable_control_request()->set_command(wire::COMMAND_STOP);
  auto refused = Call(worker_keys_, stop);
  ASSERT_TRUE(refused.ok());
  ASSERT_TRUE(refused->has_reject());
  EXPECT_NE(refused->reject().reason().find("owner"), std::string::npos);
  EXPECT_EQ(attempts, 1000);

  wire::StatusReply s = Status();
  EXPECT_TRUE(s.secured());
  EXPECT_GE(s.rejected_connections(), 500u);
  EXPECT_EQ(s.rejected_messages(), 501u);
  ASSERT_EQ(s.trials_size(), 1);
  EXPECT_EQ(s.trials(0).state(), "running");
  EXPECT_EQ(s.trials(0).step(), step) << "only the valid rank's reports count";

  // The journal holds the valid reports and nothing else.
  {
    auto snap = journal_->Snapshot();
    ASSERT_TRUE(snap.ok());
    EXPECT_EQ(snap->trials_size(), 1);
  }
  EXPECT_EQ(valid_reports, 21);

  auto stopped = Call(owner_keys_, stop);
  ASSERT_TRUE(stopped.ok());
  EXPECT_TRUE(stopped->has_ack());
  // With its only trial stopped, the sweep ends; the journal says why.
  run_.join();
  EXPECT_TRUE(run_status_.ok()) << run_status_.message();
  auto end = journal_->Snapshot();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->trials(0).state(), "stopped");
  EXPECT_EQ(end->trials(0).error(), "stopped by the owner");
  EXPECT_EQ(end->trials(0).reason(), "stopped");
}

}  // namespace
}  // namespace polysweep
