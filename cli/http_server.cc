#include "cli/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <random>

#include "common/keys.h"

namespace polysweep {
namespace {

constexpr size_t kMaxBodyBytes = 16 * 1024;
constexpr int kReadTimeoutS = 2;
constexpr int kThreads = 4;

std::string CookieToken(const std::string& cookies) {
  const size_t at = cookies.find("polysweep_token=");
  if (at == std::string::npos) return "";
  const size_t end = cookies.find_first_of("; ", at + 16);
  return cookies.substr(at + 16, end == std::string::npos ? std::string::npos : end - at - 16);
}

std::string BearerToken(const std::string& auth) { return auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : ""; }

void Reply(httplib::Response& res, int status, const std::string& type, const std::string& body) {
  res.status = status;
  res.set_content(body, type.c_str());
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
}

}  // namespace

std::string RandomToken() {
  unsigned char bytes[16];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes)) {
    std::random_device rd;
    for (auto& b : bytes) b = static_cast<unsigned char>(rd());
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) out += std::string{hex[b >> 4], hex[b & 15]};
  return out;
}

HttpServer::HttpServer(std::string token, HttpHandler handler)
    : token_(std::move(token)), handler_(std::move(handler)), http_(std::make_unique<httplib::Server>()) {
  http_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  http_->set_read_timeout(kReadTimeoutS, 0);
  http_->set_write_timeout(10, 0);
  http_->set_keep_alive_timeout(5);
  http_->set_payload_max_length(kMaxBodyBytes);
  http_->set_tcp_nodelay(true);
  http_->Get(".*", [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
  const httplib::Server::Handler only_get = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "GET");
    Reply(res, 405, "text/plain", "only GET\n");
  };
  http_->Post(".*", only_get);
  http_->Put(".*", only_get);
  http_->Delete(".*", only_get);
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const httplib::Request& req, httplib::Response& res) const {
  HttpRequest request;
  request.path = req.path;  // decoded by httplib, as the query's values
  for (const auto& [key, value] : req.params) request.query[key] = value;
  std::string presented = request.query.count("token") ? request.query["token"]
                                                       : BearerToken(req.get_header_value("Authorization"));
  if (presented.empty()) presented = CookieToken(req.get_header_value("Cookie"));
  if (!SameSecret(presented, token_)) {
    return Reply(res, 401, "text/plain",
                 "polysweep dashboard: open the URL with ?token=... that `polysweep sweep` printed "
                 "(also in <output_dir>/dashboard.url)\n");
  }
  if (request.path.find("..") != std::string::npos) return Reply(res, 400, "text/plain", "bad path\n");
  HttpResponse response;
  try {
    response = handler_(request);
  } catch (const std::exception& e) {
    response = {500, "text/plain", std::string(e.what()) + "\n"};
  }
  Reply(res, response.status, response.content_type, response.body);
  if (request.query.count("token")) {
    res.set_header("Set-Cookie", "polysweep_token=" + token_ + "; Path=/; HttpOnly; SameSite=Strict");
  }
}

Status HttpServer::Start(const std::string& address, int port) {
  if (token_.empty()) return Status::Error("dashboard: an empty token would let anyone in");
  in_addr parsed{};
  if (inet_pton(AF_INET, address.c_str(), &parsed) != 1) {
    return Status::Error("dashboard: " + address + " is not an IPv4 address");
  }
  const bool bound = port == 0 ? (port_ = http_->bind_to_any_port(address)) > 0 : http_->bind_to_port(address, port);
  if (!bound) return Status::Error("dashboard: cannot listen on " + address + ":" + std::to_string(port));
  if (port != 0) port_ = port;
  address_ = address;
  thread_ = std::thread([this] {
    http_->listen_after_bind();
    listened_ = true;
  });
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  // stop() acts on a running loop: wait for the thread to have entered it.
  while (!http_->is_running() && !listened_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  http_->stop();
  thread_.join();
}

std::string HttpServer::url() const {
  return "http://" + address_ + ":" + std::to_string(port_) + "/?token=" + token_;
}

}  // namespace polysweep
