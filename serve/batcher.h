// Dynamic batching for `polysweep serve`: the texts of requests that arrive
// together run through the model as one batch, of up to `max_batch` texts,
// once that many wait or the oldest has waited `max_wait_ms`. A batch is
// sorted by length and cut where a text is over 1.5 times as long as its
// chunk's first, so short texts are not padded to a long one's length.
// `threads` inference threads take batches in turn. The model is a
// function, so tests drive the batching without LibTorch.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "serve/metrics.h"
#include "serve/request.h"

namespace polysweep {

// Classifies texts (with their second texts, for a pair model; else empty)
// as one forward pass. Called from the inference threads, concurrently when
// there are several.
using InferFn = std::function<StatusOr<std::vector<TextPrediction>>(const std::vector<std::string>& texts,
                                                                    const std::vector<std::string>& pairs)>;

struct BatcherOptions {
  int max_batch = 32;
  int max_wait_ms = 5;
  int threads = 1;
  size_t max_queue = 1024;  // texts waiting, beyond which Submit refuses
};

using PredictionsFuture = std::future<StatusOr<std::vector<TextPrediction>>>;

class Batcher {
 public:
  Batcher(BatcherOptions options, InferFn infer, ServeMetrics* metrics);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues one request's texts; the future holds their predictions in order,
  // or the model's error. Empty when the queue cannot take them (full, or
  // the batcher is stopping): the caller answers 503.
  std::optional<PredictionsFuture> Submit(std::vector<std::string> texts, std::vector<std::string> pairs);
  // Runs every text queued, then ends the inference threads.
  void Stop();
  size_t queued() const;

 private:
  struct Job;
  struct Item {
    std::shared_ptr<Job> job;
    size_t index = 0;   // into the job's texts
    size_t bytes = 0;   // the text's length (and its pair's): what sorting uses
    std::chrono::steady_clock::time_point arrival;
  };
  void Run();
  // The next batch, waiting for it; empty when stopped and drained.
  std::vector<Item> Take();
  void RunBatch(std::vector<Item> items);
  void RunChunk(const std::vector<Item>& chunk);

  const BatcherOptions options_;
  const InferFn infer_;
  ServeMetrics* const metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace polysweep
