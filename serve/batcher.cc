#include "serve/batcher.h"

#include <algorithm>

namespace polysweep {

// One request: its texts, the predictions as they come, and the promise
// fulfilled when its last text has been classified.
struct Batcher::Job {
  std::vector<std::string> texts, pairs;
  std::vector<TextPrediction> results;
  std::mutex mu;
  size_t remaining = 0;
  std::optional<Status> error;
  std::promise<StatusOr<std::vector<TextPrediction>>> done;

  // Records text `i`'s prediction (or the batch's error); the last one
  // fulfils the promise.
  void Finish(size_t i, const TextPrediction* p, const Status& failed) {
    std::lock_guard<std::mutex> lock(mu);
    if (p != nullptr) results[i] = *p;
    if (!failed.ok() && !error) error = failed;
    if (--remaining > 0) return;
    if (error) {
      done.set_value(*error);
    } else {
      done.set_value(std::move(results));
    }
  }
};

Batcher::Batcher(BatcherOptions options, InferFn infer, ServeMetrics* metrics)
    : options_(options), infer_(std::move(infer)), metrics_(metrics) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { Run(); });
}

Batcher::~Batcher() { Stop(); }

std::optional<PredictionsFuture> Batcher::Submit(std::vector<std::string> texts, std::vector<std::string> pairs) {
  auto job = std::make_shared<Job>();
  job->remaining = texts.size();
  job->results.resize(texts.size());
  job->texts = std::move(texts);
  job->pairs = std::move(pairs);
  PredictionsFuture future = job->done.get_future();
  if (job->texts.empty()) {
    job->done.set_value(std::vector<TextPrediction>{});
    return future;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() + job->texts.size() > options_.max_queue) return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < job->texts.size(); ++i) {
      const size_t bytes = job->texts[i].size() + (job->pairs.empty() ? 0 : job->pairs[i].size());
      queue_.push_back(Item{job, i, bytes, now});
    }
    if (metrics_ != nullptr) metrics_->QueueDepth(static_cast<int64_t>(queue_.size()));
  }
  cv_.notify_all();
  return future;
}

void Batcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

size_t Batcher::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void Batcher::Run() {
  for (;;) {
    std::vector<Item> batch = Take();
    if (batch.empty()) return;
    RunBatch(std::move(batch));
  }
}

std::vector<Batcher::Item> Batcher::Take() {
  const auto max_batch = static_cast<size_t>(std::max(1, options_.max_batch));
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return {};  // stopping, and nothing left
    // A full batch now, or what has come when the oldest text's wait is over.
    const auto deadline = queue_.front().arrival + std::chrono::milliseconds(options_.max_wait_ms);
    while (!stopping_ && !queue_.empty() && queue_.size() < max_batch &&
           std::chrono::steady_clock::now() < deadline) {
      cv_.wait_until(lock, deadline);
    }
    if (queue_.empty()) continue;  // another thread took them
    const size_t n = std::min(max_batch, queue_.size());
    std::vector<Item> batch(std::make_move_iterator(queue_.begin()),
                            std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    if (metrics_ != nullptr) metrics_->QueueDepth(static_cast<int64_t>(queue_.size()));
    return batch;
  }
}

void Batcher::RunBatch(std::vector<Item> items) {
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.bytes < b.bytes; });
  std::vector<Item> chunk;
  for (Item& item : items) {
    // Over 1.5 times the chunk's shortest text: a new forward pass beats
    // padding to it (measured on the quickstart's model and a BERT-base:
    // a factor of 2 pads too much for the large one, 1 batches too little
    // for the small one).
    const auto shortest = static_cast<double>(std::max<size_t>(chunk.empty() ? 0 : chunk.front().bytes, 16));
    if (chunk.size() >= 4 && static_cast<double>(item.bytes) > 1.5 * shortest) {
      RunChunk(chunk);
      chunk.clear();
    }
    chunk.push_back(std::move(item));
  }
  if (!chunk.empty()) RunChunk(chunk);
}

void Batcher::RunChunk(const std::vector<Item>& chunk) {
  std::vector<std::string> texts, pairs;
  for (const Item& item : chunk) {
    texts.push_back(item.job->texts[item.index]);
    if (!item.job->pairs.empty()) pairs.push_back(item.job->pairs[item.index]);
  }
  const auto t0 = std::chrono::steady_clock::now();
  StatusOr<std::vector<TextPrediction>> out = Status::Internal("the model did not run");
  try {
    out = infer_(texts, pairs);
  } catch (const std::exception& e) {
    out = Status::Internal(std::string("the model failed: ") + e.what());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (metrics_ != nullptr) metrics_->Batch(static_cast<int>(chunk.size()), seconds);
  if (out.ok() && out->size() != chunk.size()) out = Status::Internal("the model answered for a different number of texts");
  for (size_t i = 0; i < chunk.size(); ++i) {
    chunk[i].job->Finish(chunk[i].index, out.ok() ? &(*out)[i] : nullptr, out.ok() ? Status::Ok() : out.status());
  }
}

}  // namespace polysweep
