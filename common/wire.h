// ZeroMQ framing for Envelopes. Every socket of the control plane carries
// frames [delimiter "", payload] (DEALER and REQ alike), and ROUTER sockets
// prefix the peer identity. Messages over kMaxMessageBytes are refused by the
// socket itself (ZMQ_MAXMSGSIZE) and by the decoder.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "common/status.h"
#include "polysweep.pb.h"

namespace polysweep {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr int64_t kMaxMessageBytes = 4 << 20;

// Applies the limits every control-plane socket shares (max size, linger).
void ConfigureSocket(zmq::socket_t& socket);

Status EncodeEnvelope(const wire::Envelope& env, std::string* out);
StatusOr<wire::Envelope> DecodeEnvelope(const void* data, size_t size);

// DEALER/REQ side: sends [ "", payload ].
Status SendEnvelope(zmq::socket_t& socket, const wire::Envelope& env);
// DEALER/REQ side: waits up to `timeout` for [ "", payload ]. Returns an error
// on timeout or a malformed message.
StatusOr<wire::Envelope> ReceiveEnvelope(zmq::socket_t& socket, std::chrono::milliseconds timeout);

// A client that sends one request and waits for its reply (same seq). Used by
// ranks and the CLI. Not thread-safe; owns its DEALER socket.
class RequestClient {
 public:
  RequestClient(zmq::context_t& ctx, const std::string& endpoint);
  // Sends `request` (its seq is set here) and waits for the matching reply.
  StatusOr<wire::Envelope> Call(wire::Envelope request, std::chrono::milliseconds timeout);

 private:
  zmq::socket_t socket_;
  std::string endpoint_;
  uint64_t next_seq_ = 1;
};

}  // namespace polysweep
