// The rank's reporter (worker/reporter.h) over real ZeroMQ sockets: reports
// that queue up while a message is in flight travel together in the next one,
// an evaluation or the trial's end is never folded into a batch, a real
// coordinator journals every batched report exactly once, and a rank at its
// stop learns whether the scheduler promoted it there and then.
#include "worker/reporter.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <zmq_addon.hpp>

#include "common/config.h"
#include "common/manifest.h"
#include "tests/common/running_coordinator.h"
#include "tests/integration/journal_reader.h"

namespace polysweep {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

wire::Progress Step(int64_t step) {
  wire::Progress p;
  p.set_step(step);
  p.set_loss(1.0 / static_cast<double>(step));
  p.set_max_steps(1000);
  return p;
}

wire::Evaluation Eval(int64_t step) {
  wire::Evaluation e;
  e.set_step(step);
  e.set_loss(0.5);
  e.set_accuracy(0.5);
  e.set_macro_f1(0.5);
  return e;
}

// The steps an acknowledged message carried, in order; {-step} for an evaluation, {0} for an end.
std::vector<int64_t> Carried(const wire::Envelope& env) {
  std::vector<int64_t> steps;
  if (env.has_progress()) steps.push_back(env.progress().step());
  for (const auto& p : env.progress_batch().reports()) steps.push_back(p.step());
  if (env.has_evaluation()) steps.push_back(-env.evaluation().step());
  if (env.has_trial_end()) steps.push_back(0);
  return steps;
}

TEST(Reporter, ReportsQueuedBehindAMessageInFlightTravelTogether) {
  zmq::context_t ctx(1);
  zmq::socket_t router(ctx, zmq::socket_type::router);
  ConfigureSocket(router);
  router.set(zmq::sockopt::rcvtimeo, 10000);  // a broken test fails, never hangs
  router.bind("tcp://127.0.0.1:*");
  const std::string endpoint = router.get(zmq::sockopt::last_endpoint);
  Logger log("reporter test");
  CoordinatorClient client(ctx, endpoint, TrialIdentity{"s", 7, 2, 0}, std::nullopt, 30s, log);
  std::vector<std::vector<int64_t>> delivered;  // written on the sender thread, read after End()
  client.set_on_delivered([&](const wire::Envelope& env) { delivered.push_back(Carried(env)); });

  std::vector<wire::Envelope> received;
  auto receive = [&]() -> std::string {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(router, std::back_inserter(frames)) || frames.size() != 3) return "";
    auto env = DecodeEnvelope(frames[2].data(), frames[2].size());
    if (!env.ok()) return "";
    EXPECT_TRUE(ValidateEnvelope(*env).ok()) << ValidateEnvelope(*env).message();
    received.push_back(*env);
    return frames[0].to_string();
  };
  auto ack = [&](const std::string& identity) {
    wire::Envelope reply;
    reply.set_version(kProtocolVersion);
    reply.set_seq(received.back().seq());
    reply.mutable_ack();
    std::string payload;
    ASSERT_TRUE(EncodeEnvelope(reply, &payload).ok());
    router.send(zmq::buffer(identity), zmq::send_flags::sndmore);
    router.send(zmq::message_t(), zmq::send_flags::sndmore);
    router.send(zmq::buffer(payload), zmq::send_flags::none);
  };

  ASSERT_TRUE(client.Progress(Step(1)).ok());
  const std::string identity = receive();  // step 1 is in flight, not yet acknowledged
  ASSERT_FALSE(identity.empty());
  for (int64_t step : {2, 3}) ASSERT_TRUE(client.Progress(Step(step)).ok());
  ASSERT_TRUE(client.Evaluation(Eval(3)).ok());
  for (int64_t step : {4, 5, 6}) ASSERT_TRUE(client.Progress(Step(step)).ok());
  // What a checkpoint taken now keeps for a resumed attempt to replay: every
  // report not yet acknowledged, the one in flight too, as this attempt's.
  std::vector<int64_t> unacknowledged;
  for (const wire::Envelope& r : client.Unacknowledged()) {
    unacknowledged.push_back(r.has_progress() ? r.progress().step() : -r.evaluation().step());
    EXPECT_EQ(r.has_progress() ? r.progress().origin_attempt() : r.evaluation().origin_attempt(), 2u);
  }
  EXPECT_EQ(unacknowledged, (std::vector<int64_t>{1, 2, 3, -3, 4, 5, 6}));
  std::thread coordinator([&] {
    ack(identity);
    for (int i = 0; i < 4; ++i) ack(receive());  // [2, 3], eval 3, [4, 5, 6], the end
  });
  wire::TrialEnd end;
  end.set_steps(6);
  ASSERT_TRUE(client.End(end).ok());
  coordinator.join();

  const std::vector<std::vector<int64_t>> expected = {{1}, {2, 3}, {-3}, {4, 5, 6}, {0}};
  EXPECT_EQ(delivered, expected);
  EXPECT_TRUE(client.Unacknowledged().empty());
  ASSERT_EQ(received.size(), 5u);
  EXPECT_EQ(received[0].body_case(), wire::Envelope::kProgress);  // one report goes as it is
  EXPECT_EQ(received[1].body_case(), wire::Envelope::kProgressBatch);
  EXPECT_EQ(received[3].body_case(), wire::Envelope::kProgressBatch);
  for (const auto& env : received) {  // every message names the rank, batches too
    EXPECT_EQ(env.sweep(), "s");
    EXPECT_EQ(env.trial(), 7u);
    EXPECT_EQ(env.attempt(), 2u);
  }
}

std::string FreshTempDir() {
  std::string tmpl = ::testing::TempDir() + "reporter_test.XXXXXX";
  return mkdtemp(tmpl.data()) ? tmpl : "";
}

// A real coordinator of the sweep "rep" in `dir`: `sweep` is its YAML after
// name, output_dir and data.
StatusOr<std::unique_ptr<testing_util::RunningCoordinator>> StartCoordinator(const std::string& dir,
                                                                             const std::string& sweep) {
  return testing_util::RunningCoordinator::StartInDir(dir, "rep", sweep);
}

TEST(Reporter, ARealCoordinatorJournalsEveryBatchedReportOnce) {
  const std::string dir = FreshTempDir();
  ASSERT_FALSE(dir.empty());
  constexpr int kReports = 2000;
  auto coordinator = StartCoordinator(dir, "search: {space: {lr: {type: choice, values: [0.001]}}}\n"
                                           "budget: {max_trials: 1, max_steps: " + std::to_string(kReports) + "}\n");
  ASSERT_TRUE(coordinator.ok()) << coordinator.status().message();
  ASSERT_TRUE((*coordinator)->WaitLaunched(1, 20s));

  std::vector<int64_t> steps;
  int messages = 0;
  {
    zmq::context_t ctx(1);
    Logger log("reporter test");
    CoordinatorClient client(ctx, (*coordinator)->endpoint(), TrialIdentity{"rep", 1, 1, 0}, std::nullopt, 30s, log);
    client.set_on_delivered([&](const wire::Envelope& env) {
      ++messages;
      for (int64_t s : Carried(env)) steps.push_back(s);
    });
    // As fast as a rank can queue them: far faster than one round trip each.
    for (int64_t step = 1; step <= kReports; ++step) ASSERT_TRUE(client.Progress(Step(step)).ok());
    wire::TrialEnd end;
    end.set_steps(kReports);
    ASSERT_TRUE(client.End(end).ok());
  }
  EXPECT_TRUE((*coordinator)->Stop().ok());

  ASSERT_EQ(steps.size(), static_cast<size_t>(kReports) + 1);
  for (int64_t i = 0; i < kReports; ++i) ASSERT_EQ(steps[i], i + 1) << "delivered out of order";
  EXPECT_LT(messages, kReports / 2) << "reports that waited were not batched";
  testing_util::JournalReader reader(dir + "/journal.db");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader.Scalar("SELECT COUNT(*) FROM progress WHERE trial_id = 1 AND attempt = 1"),
            std::to_string(kReports));
  EXPECT_EQ(reader.Scalar("SELECT COUNT(DISTINCT step) FROM progress"), std::to_string(kReports));
  EXPECT_EQ(reader.Scalar("SELECT MAX(step) FROM progress"), std::to_string(kReports));
  fs::remove_all(dir);
}

// A rank stopped (or killed) after rank 0 reported the trial's end without
// an error: the coordinator ends its processes as hung, and the trial is
// completed, not failed: its work was done and reported.
TEST(Reporter, ATrialWhoseRanksHangAfterItReportedItsEndCompletes) {
  const std::string dir = FreshTempDir();
  ASSERT_FALSE(dir.empty());
  auto coordinator = StartCoordinator(
      dir, "trial: {ranks: 1, heartbeat_seconds: 0.25, start_timeout_seconds: 1, hang_timeout_seconds: 1, max_restarts: 0}\n"
           "search: {space: {lr: {type: choice, values: [0.001]}}}\n"
           "budget: {max_trials: 1, max_steps: 20, log_every: 20}\n");
  ASSERT_TRUE(coordinator.ok()) << coordinator.status().message();
  testing_util::RunningCoordinator& c = **coordinator;
  ASSERT_TRUE(c.WaitLaunched(1, 20s));
  {
    zmq::context_t ctx(1);
    Logger log("reporter test");
    CoordinatorClient client(ctx, c.endpoint(), TrialIdentity{"rep", 1, 1, 0}, std::nullopt, 30s, log);
    ASSERT_TRUE(client.Hello(1, "localhost", 1).ok());
    wire::Progress p = Step(20);
    p.set_max_steps(20);
    ASSERT_TRUE(client.Progress(p).ok());
    wire::Evaluation e = Eval(20);
    e.set_final(true);
    ASSERT_TRUE(client.Evaluation(e).ok());
    wire::TrialEnd end;
    end.set_steps(20);
    ASSERT_TRUE(client.End(end).ok());
  }
  // The launched process never exits: the hang check kills it.
  testing_util::JournalReader j(dir + "/journal.db");
  ASSERT_TRUE(j.ok());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (j.Scalar("SELECT state FROM trials WHERE id = 1") == "running" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(j.Scalar("SELECT state || '|' || IFNULL(error, '') FROM trials WHERE id = 1"), "completed|");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM transitions WHERE trial_id = 1"), "2");
  EXPECT_TRUE(c.Stop().ok());
  fs::remove_all(dir);
}

TEST(Reporter, AtItsStopARankLearnsWhetherItIsPromotedThereAndThen) {
  for (bool in_place : {true, false}) {
    SCOPED_TRACE(in_place ? "promote_in_place: true" : "promote_in_place: false");
    const std::string dir = FreshTempDir();
    ASSERT_FALSE(dir.empty());
    // Rungs at 10, 30 and 90; one trial at a time.
    auto coordinator = StartCoordinator(
        dir, "search: {algorithm: grid, space: {lr: {type: choice, values: [0.001, 0.002, 0.003]}}}\n"
             "scheduler: {type: asha, grace: 10, reduction_factor: 3, promote_in_place: " +
                 std::string(in_place ? "true" : "false") + "}\n"
             "max_concurrent: 1\n"
             "budget: {max_trials: 3, max_steps: 90}\n");
    ASSERT_TRUE(coordinator.ok()) << coordinator.status().message();
    testing_util::RunningCoordinator& c = **coordinator;
    zmq::context_t ctx(1);
    Logger log("reporter test");
    auto rank0 = [&](uint64_t trial) {
      return std::make_unique<CoordinatorClient>(ctx, c.endpoint(), TrialIdentity{"rep", trial, 1, 0}, std::nullopt,
                                                 30s, log);
    };
    auto scored = [](int64_t step, double f1) {
      wire::Evaluation e = Eval(step);
      e.set_macro_f1(f1);
      return e;
    };
    // Trials 1 and 2 pause at the first rung: with one or two results there,
    // its quota of floor(n / 3) is 0.
    for (uint64_t trial : {1, 2}) {
      ASSERT_TRUE(c.WaitLaunched(static_cast<int>(trial), 20s));
      auto client = rank0(trial);
      auto answer = client->EvaluationAtStop(scored(10, 0.1 * static_cast<double>(trial)));
      ASSERT_TRUE(answer.ok()) << answer.status().message();
      EXPECT_EQ(*answer, 0) << "trial " << trial;
      wire::TrialEnd end;
      end.set_steps(10);
      end.set_paused(true);
      ASSERT_TRUE(client->End(end).ok());
      c.EndLaunched(static_cast<int>(trial));
    }
    // Trial 3 reaches the rung as its best: a quota of 1, which it takes.
    ASSERT_TRUE(c.WaitLaunched(3, 20s));
    auto client = rank0(3);
    auto answer = client->EvaluationAtStop(scored(10, 0.9));
    ASSERT_TRUE(answer.ok()) << answer.status().message();
    EXPECT_EQ(*answer, in_place ? 30 : 0);
    if (in_place) {
      // Resent (its acknowledgement lost), it gets the same answer.
      answer = client->EvaluationAtStop(scored(10, 0.9));
      ASSERT_TRUE(answer.ok());
      EXPECT_EQ(*answer, 30);
      // Its ranks pause there all the same (a preemption signal at that
      // step): the promotion stands, and a new attempt resumes it to 30.
      wire::TrialEnd end;
      end.set_steps(10);
      end.set_paused(true);
      ASSERT_TRUE(client->End(end).ok());
      c.EndLaunched(3);
      ASSERT_TRUE(c.WaitLaunched(4, 20s));
      client = std::make_unique<CoordinatorClient>(ctx, c.endpoint(), TrialIdentity{"rep", 3, 2, 0}, std::nullopt,
                                                   30s, log);
      auto assignment = client->Hello(2, "localhost", 1);
      ASSERT_TRUE(assignment.ok()) << assignment.status().message();
      EXPECT_EQ(assignment->stop_at_step(), 30);
      // Alone at the next rung, with more trials to come: it pauses there.
      answer = client->EvaluationAtStop(scored(30, 0.95));
      ASSERT_TRUE(answer.ok());
      EXPECT_EQ(*answer, 0);
    }
    client.reset();
    EXPECT_TRUE(c.Stop().ok());

    testing_util::JournalReader j(dir + "/journal.db");
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j.Scalar("SELECT group_concat(kind || ' ' || trial_id || ' ' || step || ' ' || stop_at) FROM "
                       "(SELECT * FROM decisions ORDER BY id)"),
              in_place ? "rung 1 10 10,rung 2 10 10,continue 3 10 30" : "rung 1 10 10,rung 2 10 10");
    if (in_place) {
      EXPECT_EQ(j.Scalar("SELECT score FROM decisions WHERE kind = 'continue'"), "0.9");
      EXPECT_EQ(j.Scalar("SELECT group_concat(attempt || ' ' || to_state, ', ') FROM (SELECT * FROM transitions "
                         "WHERE trial_id = 3 ORDER BY id)"),
                "1 running, 1 paused, 2 running, 2 interrupted");
    }
    fs::remove_all(dir);
  }
}

}  // namespace
}  // namespace polysweep
