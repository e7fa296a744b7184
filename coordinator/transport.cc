#include "coordinator/transport.h"

#include <algorithm>
#include <cstring>

#include "common/wire.h"
#include "coordinator/zap.h"

namespace polysweep {
namespace {

constexpr int kRefusedEvents =
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

}  // namespace

Transport::Transport(std::optional<CoordinatorSecurity> security, const Logger& log)
    : security_(std::move(security)), log_(log), ctx_(1), socket_(ctx_, zmq::socket_type::router) {
  ConfigureSocket(socket_);
  socket_.set(zmq::sockopt::router_mandatory, 1);
}

Transport::~Transport() = default;

StatusOr<std::string> Transport::Bind(const std::string& preferred, const std::string& bind) {
  if (security_) {
    // The handler must serve before the socket accepts its first handshake.
    zap_ = std::make_unique<ZapAuthenticator>(ctx_, security_->allowed, log_);
    PS_RETURN_IF_ERROR(zap_->Start());
    socket_.set(zmq::sockopt::zap_domain, "polysweep");
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, security_->server.secret_key);
    // Refused handshakes (no key, unknown key, wrong mechanism) are counted.
    const std::string monitor = "inproc://polysweep-monitor";
    if (zmq_socket_monitor(socket_.handle(), monitor.c_str(), kRefusedEvents) != 0) {
      return Status::Error(std::string("cannot monitor the coordinator socket: ") + zmq_strerror(zmq_errno()));
    }
    monitor_.emplace(ctx_, zmq::socket_type::pair);
    monitor_->connect(monitor);
  }
  if (!preferred.empty()) {
    try {
      socket_.bind(preferred);
      return socket_.get(zmq::sockopt::last_endpoint);
    } catch (const zmq::error_t& e) {
      log_.Warn("cannot listen again on " + preferred + " (" + e.what() + "): binding " + bind +
                "; running trials cannot reconnect and will be restarted");
    }
  }
  try {
    socket_.bind(bind);
  } catch (const zmq::error_t& e) {
    return Status::Error("bind: cannot bind " + bind + ": " + e.what());
  }
  return socket_.get(zmq::sockopt::last_endpoint);
}

bool Transport::Wait(int timeout_ms) { return WaitReadable(socket_, std::chrono::milliseconds(timeout_ms)); }

std::vector<zmq::message_t> Transport::Receive() {
  std::vector<zmq::message_t> frames;
  while (true) {
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) break;
    frames.push_back(std::move(frame));
    if (!socket_.get(zmq::sockopt::rcvmore)) break;
  }
  return frames;
}

std::string Transport::UserId(zmq::message_t& frame) const {
  if (!security_) return "";
  try {
    return frame.gets("User-Id");
  } catch (const zmq::error_t&) {
    return "";
  }
}

void Transport::Send(const std::string& identity, const std::string& payload) {
  try {
    socket_.send(zmq::buffer(identity), zmq::send_flags::sndmore);
    socket_.send(zmq::message_t(), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(payload), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    log_.Warn(std::string("reply not delivered: ") + e.what());  // peer gone
  }
}

void Transport::ReleaseHeld() {
  for (const auto& [identity, payload] : held_) Send(identity, payload);
  held_.clear();
}

size_t Transport::DropHeld() {
  const size_t n = held_.size();
  held_.clear();
  return n;
}

void Transport::DrainMonitor() {
  if (!monitor_) return;
  while (true) {
    zmq::message_t event;
    if (!monitor_->recv(event, zmq::recv_flags::dontwait)) return;
    if (event.size() >= 6) {
      uint16_t id;
      std::memcpy(&id, event.data(), sizeof id);
      if (id & kRefusedEvents) ++refused_handshakes_;
    }
    while (monitor_->get(zmq::sockopt::rcvmore)) {  // the endpoint frame
      zmq::message_t rest;
      if (!monitor_->recv(rest, zmq::recv_flags::dontwait)) break;
    }
  }
}

uint64_t Transport::refused_connections() const {
  return std::max<uint64_t>(refused_handshakes_, zap_ ? zap_->refused() : 0);
}

}  // namespace polysweep
