// Dynamic batching: requests that arrive together run as one batch, a batch
// is at most max_batch texts, long and short texts run apart, a full queue
// refuses, Stop() runs what is queued, and a model's error reaches every
// request of its batch. The model is a function that records its calls.
#include "serve/batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace polysweep {
namespace {

// A model that answers label = the text's length (mod 2 labels) and records
// the size of every batch it ran.
class RecordingModel {
 public:
  explicit RecordingModel(int delay_ms = 0) : delay_ms_(delay_ms) {}
  InferFn Fn() {
    return [this](const std::vector<std::string>& texts,
                  const std::vector<std::string>&) -> StatusOr<std::vector<TextPrediction>> {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
      {
        std::lock_guard<std::mutex> lock(mu_);
        sizes_.push_back(texts.size());
        if (fail_) return Status::Internal("the model broke");
      }
      std::vector<TextPrediction> out;
      for (const auto& t : texts) out.push_back(TextPrediction{static_cast<int>(t.size()), {1.0f}});
      return out;
    };
  }
  std::vector<size_t> sizes() {
    std::lock_guard<std::mutex> lock(mu_);
    return sizes_;
  }
  void Fail() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = true;
  }

 private:
  const int delay_ms_;
  std::mutex mu_;
  std::vector<size_t> sizes_;
  bool fail_ = false;
};

std::vector<int> Labels(PredictionsFuture& f) {
  auto got = f.get();
  EXPECT_TRUE(got.ok()) << got.status().message();
  std::vector<int> out;
  if (got.ok()) {
    for (const auto& p : *got) out.push_back(p.label);
  }
  return out;
}

TEST(Batcher, RequestsArrivingTogetherRunAsOneBatch) {
  RecordingModel model;
  ServeMetrics metrics(8);
  Batcher batcher({/*max_batch=*/8, /*max_wait_ms=*/300, /*threads=*/1, /*max_queue=*/100}, model.Fn(), &metrics);
  std::vector<PredictionsFuture> futures;
  for (int i = 0; i < 6; ++i) {
    auto f = batcher.Submit({std::string(static_cast<size_t>(i + 1), 'x')}, {});
    ASSERT_TRUE(f.has_value());
    futures.push_back(std::move(*f));
  }
  for (int i = 0; i < 6; ++i) EXPECT_EQ(Labels(futures[static_cast<size_t>(i)]), std::vector<int>{i + 1});
  EXPECT_EQ(model.sizes(), std::vector<size_t>{6});  // six requests, one forward pass
  EXPECT_EQ(metrics.batches(), 1u);
}

TEST(Batcher, AFullBatchRunsWithoutWaitingAndNoBatchExceedsMaxBatch) {
  RecordingModel model;
  Batcher batcher({4, /*max_wait_ms=*/10000, 1, 100}, model.Fn(), nullptr);
  std::vector<std::string> texts;
  for (int i = 0; i < 8; ++i) texts.push_back(std::string(static_cast<size_t>(20 + i), 'y'));
  const auto t0 = std::chrono::steady_clock::now();
  auto f = batcher.Submit(texts, {});
  ASSERT_TRUE(f.has_value());
  std::vector<int> expected;
  for (int i = 0; i < 8; ++i) expected.push_back(20 + i);
  EXPECT_EQ(Labels(*f), expected);  // in the request's order
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));  // did not wait out max_wait
  EXPECT_EQ(model.sizes(), (std::vector<size_t>{4, 4}));
}

TEST(Batcher, ShortAndLongTextsRunInSeparatePassesAndAnswerInOrder) {
  RecordingModel model;
  Batcher batcher({16, 0, 1, 100}, model.Fn(), nullptr);
  std::vector<std::string> texts;
  for (int i = 0; i < 5; ++i) {
    texts.push_back(std::string(400, 'l'));
    texts.push_back(std::string(20, 's'));
  }
  auto f = batcher.Submit(texts, {});
  ASSERT_TRUE(f.has_value());
  const std::vector<int> labels = Labels(*f);
  for (size_t i = 0; i < labels.size(); ++i) EXPECT_EQ(labels[i], i % 2 == 0 ? 400 : 20) << i;
  EXPECT_EQ(model.sizes(), (std::vector<size_t>{5, 5}));  // the short five, then the long five
}

TEST(Batcher, AFullQueueRefusesAndStopRunsWhatIsQueued) {
  RecordingModel model(/*delay_ms=*/50);
  Batcher batcher({2, 0, 1, /*max_queue=*/4}, model.Fn(), nullptr);
  auto first = batcher.Submit({"a", "b", "c", "d"}, {});
  ASSERT_TRUE(first.has_value());
  // The thread may have taken the first two already; six more never fit.
  EXPECT_FALSE(batcher.Submit({"e", "f", "g", "h", "i", "j"}, {}).has_value());
  batcher.Stop();
  ASSERT_EQ(first->wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(Labels(*first), (std::vector<int>{1, 1, 1, 1}));
  EXPECT_FALSE(batcher.Submit({"k"}, {}).has_value());  // stopped
}

TEST(Batcher, TheModelsErrorReachesEveryRequestOfItsBatch) {
  RecordingModel model;
  model.Fail();
  Batcher batcher({8, 200, 1, 100}, model.Fn(), nullptr);
  auto a = batcher.Submit({"a"}, {});
  auto b = batcher.Submit({"b", "c"}, {});
  ASSERT_TRUE(a && b);
  auto got_a = a->get();
  auto got_b = b->get();
  ASSERT_FALSE(got_a.ok());
  ASSERT_FALSE(got_b.ok());
  EXPECT_EQ(got_b.status().message(), "the model broke");
}

TEST(Batcher, SeveralInferenceThreadsShareTheQueue) {
  RecordingModel model(/*delay_ms=*/20);
  Batcher batcher({4, 0, /*threads=*/3, 1000}, model.Fn(), nullptr);
  std::vector<PredictionsFuture> futures;
  for (int i = 0; i < 40; ++i) futures.push_back(*batcher.Submit({std::string(3, 'z')}, {}));
  for (auto& f : futures) EXPECT_EQ(Labels(f), std::vector<int>{3});
  const auto sizes = model.sizes();
  size_t total = 0;
  for (size_t s : sizes) {
    EXPECT_LE(s, 4u);
    total += s;
  }
  EXPECT_EQ(total, 40u);
}

}  // namespace
}  // namespace polysweep
