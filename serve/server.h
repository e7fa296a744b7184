// The HTTP side of `polysweep serve`, on cpp-httplib (Debian's
// libcpp-httplib-dev: a thread per connection from a pool, keep-alive,
// read and write timeouts, a body limit):
//   POST /v1/predict  {"texts": [...]} -> the predictions (batched by Batcher)
//   GET  /healthz     200 while the process serves
//   GET  /readyz      200 once the model is loaded, 503 before and while draining
//   GET  /metrics     Prometheus' text format (serve/metrics.h)
// With a token, every request but the two probes must carry
// `Authorization: Bearer TOKEN`. Drain() stops accepting; Serve() returns
// once the requests in flight have their answers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "serve/batcher.h"
#include "serve/metrics.h"
#include "serve/request.h"

namespace httplib {
class Server;
}

namespace polysweep {

struct ServeOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;           // 0: any free port
  std::string token;         // empty: no token asked (loopback only)
  size_t max_body = 1 << 20; // bytes; a larger body gets 413
  RequestLimits limits;
  int http_threads = 64;     // connections served at once (each keep-alive connection holds one)
  int timeout_s = 10;        // reading a request, writing a reply
  int keep_alive_s = 5;      // an idle keep-alive connection's life (also the longest a drain waits for one)
};

// What the server says about the model it serves.
struct ServedModel {
  std::vector<std::string> labels;
  bool pair_model = false;
  std::string sweep;
  uint64_t trial = 0;
};

// Whether `address` is a loopback address (where no token is required).
bool IsLoopback(const std::string& address);

class PredictServer {
 public:
  PredictServer(ServeOptions options, ServeMetrics* metrics);
  ~PredictServer();
  PredictServer(const PredictServer&) = delete;
  PredictServer& operator=(const PredictServer&) = delete;

  // Binds the address and port (refusing a non-loopback address without a
  // token); port() is known after.
  Status Bind();
  // Serves until Drain(); returns once the requests in flight are answered.
  Status Serve();
  // The model is loaded: predictions go to `batcher`, /readyz says 200.
  void SetModel(ServedModel model, Batcher* batcher);
  // Stops accepting connections and /readyz says 503; Serve() returns when
  // the requests in flight are answered. Safe from any thread.
  void Drain();
  int port() const { return port_; }

 private:
  void Route();
  bool Authorized(const std::string& path, const std::string& header) const;
  std::string Predict(const std::string& body, int* status, int* texts);

  const ServeOptions options_;
  ServeMetrics* const metrics_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  std::mutex serve_mu_;                   // orders Serve()'s start against Drain()
  bool serving_ = false;                  // Serve() has begun (under serve_mu_)
  std::atomic<bool> listened_{false};     // httplib's loop has returned
  ServedModel model_;                     // set once, before ready_
  std::atomic<Batcher*> batcher_{nullptr};
};

}  // namespace polysweep
