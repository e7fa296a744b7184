#include "serve/server.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "common/keys.h"

namespace polysweep {

namespace {

const char* const kJson = "application/json";

// The routes the metrics name; anything else is "other", so that a client
// cannot grow the metrics without bound.
std::string RouteName(const std::string& path) {
  for (const char* known : {"/v1/predict", "/healthz", "/readyz", "/metrics"}) {
    if (path == known) return known;
  }
  return "other";
}

// What went wrong, for an error httplib answered itself.
std::string ErrorMessage(const httplib::Request& req, int status) {
  switch (status) {
    case 404:
      return "no route " + req.method + " " + req.path + " (POST /v1/predict, GET /healthz, /readyz, /metrics)";
    case 413:
      return "the body is larger than this server takes (--max-body)";
    case 400:
      return "a malformed HTTP request";
    default:
      return "HTTP status " + std::to_string(status);
  }
}

void Reply(httplib::Response& res, int status, const std::string& body, const char* type = kJson) {
  res.status = status;
  res.set_content(body, type);
}

}  // namespace

bool IsLoopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

PredictServer::PredictServer(ServeOptions options, ServeMetrics* metrics)
    : options_(std::move(options)), metrics_(metrics), http_(std::make_unique<httplib::Server>()) {
  const int threads = std::max(1, options_.http_threads);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http_->set_read_timeout(options_.timeout_s, 0);
  http_->set_write_timeout(options_.timeout_s, 0);
  http_->set_keep_alive_timeout(options_.keep_alive_s);
  http_->set_keep_alive_max_count(1000);
  http_->set_payload_max_length(options_.max_body);
  // A reply is written as head and body: without this, Nagle's algorithm
  // holds the body until the client's delayed ACK (40 ms) of the head.
  http_->set_tcp_nodelay(true);
  Route();
}

PredictServer::~PredictServer() = default;

bool PredictServer::Authorized(const std::string& path, const std::string& header) const {
  if (options_.token.empty() || path == "/healthz" || path == "/readyz") return true;
  return SameSecret(header, "Bearer " + options_.token);
}

void PredictServer::Route() {
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (Authorized(req.path, req.get_header_value("Authorization"))) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    Reply(res, 401, ErrorJson(401, "this server needs its token: Authorization: Bearer TOKEN (--token-file)"));
    return httplib::Server::HandlerResponse::Handled;
  });
  http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { Reply(res, 200, R"({"status":"ok"})"); });
  http_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (ready_ && !draining_) return Reply(res, 200, R"({"ready":true})");
    Reply(res, 503, draining_ ? R"({"ready":false,"why":"draining"})" : R"({"ready":false,"why":"loading the model"})");
  });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, metrics_->Render(), "text/plain; version=0.0.4");
  });
  http_->Post("/v1/predict", [this](const httplib::Request& req, httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    int status = 200, texts = 0;
    const std::string body = Predict(req.body, &status, &texts);
    if (status == 503) res.set_header("Retry-After", "1");
    Reply(res, status, body);
    if (status == 200) {
      metrics_->Predicted(texts, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  });
  http_->Get("/v1/predict", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST");
    Reply(res, 405, ErrorJson(405, "POST a JSON body {\"texts\": [...]} to /v1/predict"));
  });
  // Errors httplib answers itself (413 for a body over --max-body, 404, ...)
  // get a JSON body like ours.
  http_->set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    Reply(res, res.status, ErrorJson(res.status, ErrorMessage(req, res.status)));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_->Request(RouteName(req.path), res.status);
  });
}

std::string PredictServer::Predict(const std::string& body, int* status, int* texts) {
  Batcher* batcher = batcher_.load();
  if (!ready_ || batcher == nullptr) {
    *status = 503;
    return ErrorJson(503, "the model is still loading (GET /readyz says when it is ready)");
  }
  auto parsed = ParsePredictRequest(body, options_.limits, model_.pair_model);
  if (auto* e = std::get_if<ApiError>(&parsed)) {
    *status = e->status;
    return ErrorJson(e->status, e->message);
  }
  PredictRequest& request = std::get<PredictRequest>(parsed);
  *texts = static_cast<int>(request.texts.size());
  auto future = batcher->Submit(std::move(request.texts), std::move(request.pairs));
  if (!future) {
    *status = 503;
    return ErrorJson(503, draining_ ? "the server is shutting down" : "the queue is full (--max-queue); try again");
  }
  auto predictions = future->get();
  if (!predictions.ok()) {
    *status = 500;
    return ErrorJson(500, predictions.status().message());
  }
  return PredictReplyJson(*predictions, model_.labels, request.all_probs, model_.sweep, model_.trial);
}

Status PredictServer::Bind() {
  if (!IsLoopback(options_.bind) && options_.token.empty()) {
    return Status::InvalidConfig("--bind " + options_.bind +
                                 " reaches beyond this machine: give --token-file, whose token every request must carry");
  }
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.bind);
    if (port_ <= 0) return Status::Unavailable("cannot bind " + options_.bind + " to a free port");
  } else {
    if (!http_->bind_to_port(options_.bind, options_.port)) {
      return Status::Unavailable("cannot bind " + options_.bind + ":" + std::to_string(options_.port) +
                                 " (in use, or not an address of this machine)");
    }
    port_ = options_.port;
  }
  return Status::Ok();
}

void PredictServer::SetModel(ServedModel model, Batcher* batcher) {
  model_ = std::move(model);
  batcher_.store(batcher);
  ready_ = true;
  metrics_->Ready(!draining_);
}

Status PredictServer::Serve() {
  {
    std::lock_guard<std::mutex> lock(serve_mu_);
    if (draining_) return Status::Ok();
    serving_ = true;
  }
  const bool ok = http_->listen_after_bind();
  listened_ = true;
  if (!ok && !draining_) return Status::Unavailable("the server's socket failed");
  return Status::Ok();
}

void PredictServer::Drain() {
  {
    std::lock_guard<std::mutex> lock(serve_mu_);
    draining_ = true;
    metrics_->Ready(false);
    if (!serving_) return;
  }
  // Serve() may not have entered httplib's loop yet; stop() needs it running.
  while (!http_->is_running() && !listened_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  http_->stop();
}

}  // namespace polysweep
