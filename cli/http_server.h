// A small HTTP/1.1 server for the dashboard: GET only, one request per
// connection, served from its own thread. Every request must carry the
// server's token (`?token=` once, then the cookie the response sets, or an
// `Authorization: Bearer` header); others get 401.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "common/status.h"

namespace polysweep {

struct HttpRequest {
  std::string path;                          // without the query
  std::map<std::string, std::string> query;  // decoded
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // `token`: what every request must present (not empty).
  HttpServer(std::string token, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on `address` (an IPv4 address) and `port` (0: any free port) and
  // starts serving.
  Status Start(const std::string& address, int port);
  void Stop();
  int port() const { return port_; }
  // http://ADDRESS:PORT/?token=TOKEN
  std::string url() const;

 private:
  void Serve();
  void Handle(int fd);
  std::string token_;
  HttpHandler handler_;
  std::string address_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // Stop() writes here to end the serving thread's poll
  std::thread thread_;
};

// A random 128-bit token as hex.
std::string RandomToken();

// Decodes %XX and '+' in a query component.
std::string UrlDecode(const std::string& s);

}  // namespace polysweep
