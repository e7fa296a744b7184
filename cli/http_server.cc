#include "cli/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace polysweep {
namespace {

constexpr size_t kMaxRequestBytes = 16 * 1024;
constexpr int kReadTimeoutMs = 2000;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    default: return "Internal Server Error";
  }
}

void WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;  // the browser went away
    }
    off += static_cast<size_t>(n);
  }
}

// Constant-time comparison: the token is a secret.
bool SameToken(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The value of header `name` (with its colon, any case) in a request head.
std::string Header(const std::string& head, const char* name) {
  const size_t n = std::strlen(name);
  std::istringstream in(head);
  for (std::string line; std::getline(in, line);) {
    if (line.size() < n || strncasecmp(line.c_str(), name, n) != 0) continue;
    std::string v = line.substr(n);
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
    return v.substr(std::min(v.size(), v.find_first_not_of(' ')));
  }
  return "";
}

std::string CookieToken(const std::string& head) {
  const std::string cookies = Header(head, "cookie:");
  const size_t at = cookies.find("polysweep_token=");
  if (at == std::string::npos) return "";
  const size_t end = cookies.find_first_of("; ", at + 16);
  return cookies.substr(at + 16, end == std::string::npos ? std::string::npos : end - at - 16);
}

std::string BearerToken(const std::string& head) {
  const std::string auth = Header(head, "authorization:");
  return auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
}

}  // namespace

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

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

HttpServer::HttpServer(std::string token, HttpHandler handler) : token_(std::move(token)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start(const std::string& address, int port) {
  if (token_.empty()) return Status::Error("dashboard: an empty token would let anyone in");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return Status::Error("dashboard: " + address + " is not an IPv4 address");
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Status::Error(std::string("dashboard: socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return Status::Error("dashboard: cannot listen on " + address + ":" + std::to_string(port) + ": " + why);
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  address_ = address;
  if (::pipe2(wake_, O_CLOEXEC) != 0) return Status::Error(std::string("dashboard: pipe: ") + std::strerror(errno));
  thread_ = std::thread([this] { Serve(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    (void)!::write(wake_[1], "x", 1);
    thread_.join();
  }
  for (int* fd : {&listen_fd_, &wake_[0], &wake_[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

std::string HttpServer::url() const {
  return "http://" + address_ + ":" + std::to_string(port_) + "/?token=" + token_;
}

void HttpServer::Serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Handle(fd);
    ::close(fd);
  }
}

void HttpServer::Handle(int fd) {
  // The request head, up to a limit and a deadline: a slow or huge request
  // cannot hold the dashboard.
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kReadTimeoutMs) <= 0) return;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    head.append(buf, static_cast<size_t>(n));
    if (head.size() > kMaxRequestBytes) return WriteAll(fd, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  }
  std::istringstream lines(head);
  std::string method, target, version;
  lines >> method >> target >> version;
  HttpResponse response;
  HttpRequest request;
  const size_t q = target.find('?');
  request.path = UrlDecode(target.substr(0, q));
  if (q != std::string::npos) {
    std::istringstream params(target.substr(q + 1));
    for (std::string kv; std::getline(params, kv, '&');) {
      const size_t eq = kv.find('=');
      request.query[UrlDecode(kv.substr(0, eq))] = eq == std::string::npos ? "" : UrlDecode(kv.substr(eq + 1));
    }
  }
  std::string presented = request.query.count("token") ? request.query["token"] : BearerToken(head);
  if (presented.empty()) presented = CookieToken(head);
  std::string extra;
  if (method != "GET") {
    response = {405, "text/plain", "only GET\n"};
  } else if (!SameToken(presented, token_)) {
    response = {401, "text/plain",
                "polysweep dashboard: open the URL with ?token=... that `polysweep sweep` printed "
                "(also in <output_dir>/dashboard.url)\n"};
  } else if (request.path.find("..") != std::string::npos) {
    response = {400, "text/plain", "bad path\n"};
  } else {
    try {
      response = handler_(request);
    } catch (const std::exception& e) {
      response = {500, "text/plain", std::string(e.what()) + "\n"};
    }
    if (request.query.count("token")) {
      extra = "Set-Cookie: polysweep_token=" + token_ + "; Path=/; HttpOnly; SameSite=Strict\r\n";
    }
  }
  std::string reply = "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) + "\r\n" +
                      "Content-Type: " + response.content_type + "\r\n" +
                      "Content-Length: " + std::to_string(response.body.size()) + "\r\n" +
                      "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n" + extra +
                      "\r\n";
  WriteAll(fd, reply + response.body);
}

}  // namespace polysweep
