#include "serve/metrics.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace polysweep {

namespace {

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// 1, 2, 4, ... up to and including max_batch.
std::vector<double> PowersOfTwo(int max_batch) {
  std::vector<double> out;
  for (int b = 1; b < max_batch; b *= 2) out.push_back(b);
  out.push_back(std::max(1, max_batch));
  return out;
}

const std::vector<double> kSecondsBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1,     2.5,  5,     10};

void Header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++counts_[static_cast<size_t>(at)];
  sum_ += value;
  ++count_;
}

std::string Histogram::Render(const std::string& name) const {
  std::ostringstream out;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out << name << "_bucket{le=\"" << Number(bounds_[i]) << "\"} " << cumulative << "\n";
  }
  out << name << "_bucket{le=\"+Inf\"} " << count_ << "\n";
  out << name << "_sum " << Number(sum_) << "\n" << name << "_count " << count_ << "\n";
  return out.str();
}

ServeMetrics::ServeMetrics(int max_batch)
    : latency_(kSecondsBounds), batch_size_(PowersOfTwo(max_batch)), batch_seconds_(kSecondsBounds) {}

void ServeMetrics::Request(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
  if (status >= 400) ++errors_;
}

void ServeMetrics::Predicted(int texts, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  latency_.Observe(seconds);
  texts_ += static_cast<uint64_t>(texts);
}

void ServeMetrics::Batch(int texts, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++batches_;
  batch_size_.Observe(texts);
  batch_seconds_.Observe(seconds);
}

void ServeMetrics::QueueDepth(int64_t texts) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_depth_ = texts;
}

void ServeMetrics::Ready(bool ready) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_ = ready;
}

uint64_t ServeMetrics::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

std::string ServeMetrics::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  Header(out, "polysweep_serve_requests_total", "counter", "HTTP requests answered, by route and status code.");
  for (const auto& [key, n] : requests_) {
    out << "polysweep_serve_requests_total{route=\"" << key.first << "\",code=\"" << key.second << "\"} " << n << "\n";
  }
  Header(out, "polysweep_serve_errors_total", "counter", "Requests answered with a 4xx or 5xx status.");
  out << "polysweep_serve_errors_total " << errors_ << "\n";
  Header(out, "polysweep_serve_texts_total", "counter", "Texts classified in answered predictions.");
  out << "polysweep_serve_texts_total " << texts_ << "\n";
  Header(out, "polysweep_serve_request_duration_seconds", "histogram",
         "Seconds from a prediction request's arrival to its reply (status 200).");
  out << latency_.Render("polysweep_serve_request_duration_seconds");
  Header(out, "polysweep_serve_batch_size", "histogram", "Texts per batch the model ran.");
  out << batch_size_.Render("polysweep_serve_batch_size");
  Header(out, "polysweep_serve_batch_duration_seconds", "histogram", "Seconds the model took per batch.");
  out << batch_seconds_.Render("polysweep_serve_batch_duration_seconds");
  Header(out, "polysweep_serve_queue_depth", "gauge", "Texts waiting for the model.");
  out << "polysweep_serve_queue_depth " << queue_depth_ << "\n";
  Header(out, "polysweep_serve_ready", "gauge", "1 once the model is loaded and the server is not draining.");
  out << "polysweep_serve_ready " << (ready_ ? 1 : 0) << "\n";
  return out.str();
}

}  // namespace polysweep
