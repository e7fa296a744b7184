// The dashboard's HTTP/1.1 server, on cpp-httplib (as `polysweep serve`):
// GET only, a few threads, keep-alive, read and write timeouts, a 16 KB
// limit on a request's head. Every request must carry the server's token
// (`?token=` once, then the cookie the response sets, or an
// `Authorization: Bearer` header); others get 401.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}

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
  void Handle(const httplib::Request& req, httplib::Response& res) const;
  std::string token_;
  HttpHandler handler_;
  std::unique_ptr<httplib::Server> http_;
  std::string address_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> listened_{false};  // httplib's loop has returned
};

// A random 128-bit token as hex.
std::string RandomToken();

}  // namespace polysweep
