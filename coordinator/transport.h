// The coordinator's end of the control plane: one ZeroMQ ROUTER socket
// (CURVE with a ZAP handler when the sweep is secured), the replies held
// back until the journal's batch that they acknowledge commits, and the
// count of refused handshakes. Single-threaded: the coordinator's loop owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "common/log.h"
#include "common/status.h"
#include "coordinator/security.h"

namespace polysweep {

class ZapAuthenticator;

class Transport {
 public:
  Transport(std::optional<CoordinatorSecurity> security, const Logger& log);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Listens on `preferred` (where a restarted coordinator's ranks reconnect)
  // when it can, else on `bind`; returns the endpoint bound.
  StatusOr<std::string> Bind(const std::string& preferred, const std::string& bind);
  // Waits up to `timeout_ms` for a message.
  bool Wait(int timeout_ms);
  // The next message's frames, without waiting; empty when none is there.
  std::vector<zmq::message_t> Receive();
  // The User-Id the ZAP handler gave the sender of `frame` ("" unsecured).
  std::string UserId(zmq::message_t& frame) const;

  // Sends at once; a peer that is gone is logged, not an error.
  void Send(const std::string& identity, const std::string& payload);
  // Held until ReleaseHeld (the journal batch they acknowledge committed) or
  // DropHeld (it did not: their senders send again).
  void Hold(std::string identity, std::string payload) { held_.emplace_back(std::move(identity), std::move(payload)); }
  void ReleaseHeld();
  size_t DropHeld();

  // Counts the handshakes refused since the last call (CURVE monitor events).
  void DrainMonitor();
  uint64_t refused_connections() const;
  bool secured() const { return security_.has_value(); }

 private:
  std::optional<CoordinatorSecurity> security_;
  Logger log_;
  zmq::context_t ctx_;
  std::unique_ptr<ZapAuthenticator> zap_;
  zmq::socket_t socket_;
  std::optional<zmq::socket_t> monitor_;
  uint64_t refused_handshakes_ = 0;
  std::vector<std::pair<std::string, std::string>> held_;  // identity, payload
};

}  // namespace polysweep
