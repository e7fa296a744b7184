// Tests of the dashboard's HTTP server (cli/http_server.h) over real
// loopback TCP connections: the token, the cookie it sets, methods, paths,
// a request that never ends, and keep-alive.
#include "cli/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace polysweep {
namespace {

// A connection to 127.0.0.1:`port`.
int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

// Sends `request` to 127.0.0.1:`port` and returns the whole response.
std::string Exchange(int port, const std::string& request) {
  const int fd = Connect(port);
  ::send(fd, request.data(), request.size(), 0);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// One request on its own connection (closed after the response, which is
// then read to its end).
std::string Get(int port, const std::string& target, const std::string& headers = "") {
  return Exchange(port, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + "\r\n");
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>("s3cret", [this](const HttpRequest& r) {
      seen_path_ = r.path;
      if (r.path == "/hello") return HttpResponse{200, "text/plain", "hello " + (r.query.count("who") ? r.query.at("who") : "")};
      return HttpResponse{404, "text/plain", "none\n"};
    });
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
    port_ = server_->port();
    ASSERT_GT(port_, 0);
  }
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  std::string seen_path_;
};

TEST_F(HttpServerTest, RefusesRequestsWithoutTheToken) {
  EXPECT_EQ(Get(port_, "/hello").rfind("HTTP/1.1 401 Unauthorized", 0), 0u);
  EXPECT_EQ(Get(port_, "/hello?token=wrong").rfind("HTTP/1.1 401", 0), 0u);
  EXPECT_EQ(Get(port_, "/hello?token=s3cre").rfind("HTTP/1.1 401", 0), 0u);
  EXPECT_EQ(seen_path_, "") << "the handler ran for an unauthenticated request";
}

TEST_F(HttpServerTest, TheTokenInTheQuerySetsACookieThatThenSuffices) {
  const std::string first = Get(port_, "/hello?token=s3cret&who=a%20b");
  EXPECT_EQ(first.rfind("HTTP/1.1 200 OK", 0), 0u) << first;
  EXPECT_NE(first.find("Set-Cookie: polysweep_token=s3cret; Path=/; HttpOnly; SameSite=Strict"), std::string::npos);
  EXPECT_NE(first.find("Cache-Control: no-store"), std::string::npos);
  EXPECT_EQ(first.substr(first.find("\r\n\r\n") + 4), "hello a b");
  const std::string cookie = Get(port_, "/hello", "Cookie: other=1; polysweep_token=s3cret\r\n");
  EXPECT_EQ(cookie.rfind("HTTP/1.1 200", 0), 0u) << cookie;
  EXPECT_EQ(cookie.find("Set-Cookie"), std::string::npos);
  const std::string bearer = Get(port_, "/hello", "Authorization: Bearer s3cret\r\n");
  EXPECT_EQ(bearer.rfind("HTTP/1.1 200", 0), 0u) << bearer;
}

TEST_F(HttpServerTest, OnlyGetAndNoPathsOutOfTheTree) {
  EXPECT_EQ(Exchange(port_, "POST /hello?token=s3cret HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(Get(port_, "/../etc/passwd?token=s3cret").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(Get(port_, "/%2e%2e/etc/passwd?token=s3cret").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(Get(port_, "/nothing?token=s3cret").rfind("HTTP/1.1 404", 0), 0u);
}

TEST_F(HttpServerTest, AnOversizedOrUnfinishedRequestDoesNotHoldTheServer) {
  EXPECT_EQ(Exchange(port_, "GET /hello HTTP/1.1\r\nX: " + std::string(20000, 'a')).rfind("HTTP/1.1 400", 0), 0u);
  // A client that connects and says nothing is dropped after its deadline;
  // the next request is served.
  const int idle = Connect(port_);
  EXPECT_EQ(Get(port_, "/hello?token=s3cret").rfind("HTTP/1.1 200", 0), 0u);
  ::close(idle);
}

TEST_F(HttpServerTest, KeepsAConnectionAliveForTheNextRequest) {
  const int fd = Connect(port_);
  // Reads one response: its head, then the body its Content-Length gives.
  auto read_response = [fd] {
    std::string out;
    char buf[4096];
    while (true) {
      const size_t head_end = out.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t at = out.find("Content-Length: ");
        const size_t length = at == std::string::npos ? 0 : std::stoul(out.substr(at + 16));
        if (out.size() >= head_end + 4 + length) return out;
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  };
  for (const char* who : {"one", "two"}) {
    const std::string request = std::string("GET /hello?token=s3cret&who=") + who + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    const std::string response = read_response();
    EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
    EXPECT_NE(response.find(std::string("hello ") + who), std::string::npos) << response;
  }
  ::close(fd);
}

TEST(HttpServer, RefusesAnEmptyTokenAndABadAddress) {
  HttpServer open("", [](const HttpRequest&) { return HttpResponse{}; });
  EXPECT_FALSE(open.Start("127.0.0.1", 0).ok());
  HttpServer bad("t", [](const HttpRequest&) { return HttpResponse{}; });
  auto s = bad.Start("localhost:80", 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not an IPv4 address"), std::string::npos) << s.message();
  EXPECT_EQ(RandomToken().size(), 32u);
  EXPECT_NE(RandomToken(), RandomToken());
}

}  // namespace
}  // namespace polysweep
