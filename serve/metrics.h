// What `GET /metrics` reports, in Prometheus' text exposition format:
// requests by status code, errors, the latency of predictions, the sizes of
// the batches the model ran, and the texts waiting. Thread-safe: HTTP
// threads and inference threads record into one ServeMetrics.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace polysweep {

// A cumulative histogram with fixed upper bounds (Prometheus' `le`).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // NAME_bucket{le=...}, NAME_sum and NAME_count lines.
  std::string Render(const std::string& name) const;
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bound, not cumulative; one more for +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ServeMetrics {
 public:
  explicit ServeMetrics(int max_batch);

  // A request answered: its route (one the server knows, or "other") and
  // status.
  void Request(const std::string& route, int status);
  // A prediction answered: its texts, and seconds from arrival to reply.
  void Predicted(int texts, double seconds);
  // The model ran one batch of `texts` texts in `seconds`.
  void Batch(int texts, double seconds);
  // Texts waiting for the model now.
  void QueueDepth(int64_t texts);
  void Ready(bool ready);

  // The whole exposition.
  std::string Render() const;
  uint64_t batches() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (route, status) -> count
  uint64_t errors_ = 0, texts_ = 0, batches_ = 0;
  Histogram latency_, batch_size_, batch_seconds_;
  int64_t queue_depth_ = 0;
  bool ready_ = false;
};

}  // namespace polysweep
