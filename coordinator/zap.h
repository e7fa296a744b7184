// ZapAuthenticator: the ZeroMQ authentication handler (ZAP, RFC 27) of a
// CURVE coordinator. CURVE alone only encrypts: without a ZAP handler any
// client key is admitted. This one admits exactly the public keys it was
// given, each with a role, and refuses and counts every other.
//
// It serves inproc://zeromq.zap.01 on the coordinator's context from its own
// thread; construct it before the coordinator's socket binds. Thread-safe
// counters; everything else is owned by the handler thread.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "common/log.h"
#include "common/status.h"

namespace polysweep {

class ZapAuthenticator {
 public:
  // `allowed`: Z85 public key -> role ("worker", "owner"). The role and a
  // key prefix become the connection's User-Id ("worker:AbCdEf12").
  ZapAuthenticator(zmq::context_t& ctx, std::map<std::string, std::string> allowed, Logger log);
  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

  // Binds the handler socket; must succeed before any CURVE socket accepts.
  Status Start();
  uint64_t accepted() const { return accepted_; }
  uint64_t refused() const { return refused_; }

  // The role of a User-Id set by this handler ("" for none).
  static std::string RoleOf(const std::string& user_id);

 private:
  void Loop();
  zmq::context_t& ctx_;
  std::map<std::string, std::string> allowed_;
  Logger log_;
  zmq::socket_t socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace polysweep
