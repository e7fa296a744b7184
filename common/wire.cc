#include "common/wire.h"

#include <vector>

namespace polysweep {

void ConfigureSocket(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::maxmsgsize, kMaxMessageBytes);
  socket.set(zmq::sockopt::linger, 1000);
}

Status EncodeEnvelope(const wire::Envelope& env, std::string* out) {
  if (!env.SerializeToString(out)) return Status::Error("cannot serialise envelope");
  if (static_cast<int64_t>(out->size()) > kMaxMessageBytes) {
    return Status::Error("envelope of " + std::to_string(out->size()) + " bytes exceeds the limit");
  }
  return Status::Ok();
}

StatusOr<wire::Envelope> DecodeEnvelope(const void* data, size_t size) {
  if (static_cast<int64_t>(size) > kMaxMessageBytes) return Status::Error("message too large");
  wire::Envelope env;
  if (!env.ParseFromArray(data, static_cast<int>(size))) return Status::Error("malformed envelope");
  if (env.version() != kProtocolVersion) {
    return Status::Error("protocol version " + std::to_string(env.version()) + ", expected " +
                         std::to_string(kProtocolVersion));
  }
  return env;
}

Status SendEnvelope(zmq::socket_t& socket, const wire::Envelope& env) {
  std::string payload;
  PS_RETURN_IF_ERROR(EncodeEnvelope(env, &payload));
  try {
    socket.send(zmq::message_t(), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(payload), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("send failed: ") + e.what());
  }
  return Status::Ok();
}

StatusOr<wire::Envelope> ReceiveEnvelope(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) == 0) {
    return Status::Error("no reply within " + std::to_string(timeout.count()) + " ms");
  }
  std::vector<zmq::message_t> frames;
  while (true) {
    zmq::message_t frame;
    if (!socket.recv(frame, zmq::recv_flags::none)) return Status::Error("receive interrupted");
    frames.push_back(std::move(frame));
    if (!socket.get(zmq::sockopt::rcvmore)) break;
  }
  if (frames.size() != 2 || frames[0].size() != 0) return Status::Error("unexpected framing");
  return DecodeEnvelope(frames[1].data(), frames[1].size());
}

RequestClient::RequestClient(zmq::context_t& ctx, const std::string& endpoint)
    : socket_(ctx, zmq::socket_type::dealer), endpoint_(endpoint) {
  ConfigureSocket(socket_);
  socket_.connect(endpoint);
}

StatusOr<wire::Envelope> RequestClient::Call(wire::Envelope request, std::chrono::milliseconds timeout) {
  const uint64_t seq = next_seq_++;
  request.set_seq(seq);
  request.set_version(kProtocolVersion);
  PS_RETURN_IF_ERROR(SendEnvelope(socket_, request).With("to " + endpoint_));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Error("no reply from " + endpoint_ + " within " + std::to_string(timeout.count()) + " ms");
    auto reply = ReceiveEnvelope(socket_, left);
    if (!reply.ok()) return reply.status().With("from " + endpoint_);
    if (reply->seq() == seq) return reply;
    // A late reply to an earlier, timed-out request: drop it and keep waiting.
  }
}

}  // namespace polysweep
