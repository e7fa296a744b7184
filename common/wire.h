// ZeroMQ framing for Envelopes. Every socket of the control plane carries
// frames [delimiter "", payload] (DEALER and REQ alike), and ROUTER sockets
// prefix the peer identity. Messages over kMaxMessageBytes are refused by the
// socket itself (ZMQ_MAXMSGSIZE) and by the decoder.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "common/keys.h"
#include "common/status.h"
#include "polysweep.pb.h"

namespace polysweep {

// 2: ProgressBatch. 3: rank 0 waits at a rung for Ack.continue_to.
inline constexpr uint32_t kProtocolVersion = 3;
inline constexpr int64_t kMaxMessageBytes = 4 << 20;
// Reports one ProgressBatch may carry.
inline constexpr int kMaxBatchReports = 1024;
// Queue bound per peer. Ranks and the CLI wait for a reply before sending
// again, so a well-behaved peer never has more than one message queued; a
// full queue means a misbehaving peer, whose excess ZeroMQ drops before the
// coordinator sees it (nothing it sent was acknowledged, so no state change
// is lost: the sender times out instead).
inline constexpr int kHighWaterMark = 1000;

// Applies the limits every control-plane socket shares (max size, queue
// bounds, linger).
void ConfigureSocket(zmq::socket_t& socket);

// The keys a client presents to a CURVE coordinator.
struct CurveClientKeys {
  std::string server_public;
  CurveKeyPair client;
};
void ConfigureCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys);

// Checks what the protobuf decoder cannot: a body is present, strings are
// short, numbers are finite and in range, repeated fields are bounded.
Status ValidateEnvelope(const wire::Envelope& env);

Status EncodeEnvelope(const wire::Envelope& env, std::string* out);
StatusOr<wire::Envelope> DecodeEnvelope(const void* data, size_t size);

// DEALER/REQ side: sends [ "", payload ].
Status SendEnvelope(zmq::socket_t& socket, const wire::Envelope& env);

// True when `socket` has a message to read within `timeout`. A signal that
// interrupts the wait (Ctrl-C, a preemption signal) counts as nothing ready.
bool WaitReadable(zmq::socket_t& socket, std::chrono::milliseconds timeout);
// DEALER/REQ side: waits up to `timeout` for [ "", payload ]. Returns an error
// on timeout or a malformed message.
StatusOr<wire::Envelope> ReceiveEnvelope(zmq::socket_t& socket, std::chrono::milliseconds timeout);

// A client that sends one request and waits for its reply (same seq). Used by
// ranks and the CLI. Not thread-safe; owns its DEALER socket.
class RequestClient {
 public:
  // With `curve`, the connection is authenticated and encrypted.
  RequestClient(zmq::context_t& ctx, const std::string& endpoint,
                const std::optional<CurveClientKeys>& curve = std::nullopt);
  // Sends `request` (its seq is set here) and waits for the matching reply.
  StatusOr<wire::Envelope> Call(wire::Envelope request, std::chrono::milliseconds timeout);

 private:
  zmq::socket_t socket_;
  std::string endpoint_;
  uint64_t next_seq_ = 1;
};

}  // namespace polysweep
