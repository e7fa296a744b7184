#include "coordinator/zap.h"

#include <vector>

#include "common/wire.h"

namespace polysweep {

ZapAuthenticator::ZapAuthenticator(zmq::context_t& ctx, std::map<std::string, std::string> allowed, Logger log)
    : ctx_(ctx), allowed_(std::move(allowed)), log_(std::move(log)), socket_(ctx, zmq::socket_type::rep) {}

ZapAuthenticator::~ZapAuthenticator() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

Status ZapAuthenticator::Start() {
  try {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("inproc://zeromq.zap.01");
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("cannot start the authentication handler: ") + e.what());
  }
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

std::string ZapAuthenticator::RoleOf(const std::string& user_id) {
  const size_t colon = user_id.find(':');
  return colon == std::string::npos ? "" : user_id.substr(0, colon);
}

void ZapAuthenticator::Loop() {
  while (!stop_) {
    if (!WaitReadable(socket_, std::chrono::milliseconds(100))) continue;
    std::vector<zmq::message_t> frames;
    while (true) {
      zmq::message_t f;
      if (!socket_.recv(f, zmq::recv_flags::none)) break;
      frames.push_back(std::move(f));
      if (!socket_.get(zmq::sockopt::rcvmore)) break;
    }
    // version, request id, domain, address, identity, mechanism, credentials...
    std::string version = frames.size() > 0 ? frames[0].to_string() : "";
    std::string request_id = frames.size() > 1 ? frames[1].to_string() : "";
    std::string address = frames.size() > 3 ? frames[3].to_string() : "?";
    std::string mechanism = frames.size() > 5 ? frames[5].to_string() : "";
    std::string status = "400", text = "refused", user_id;
    if (version == "1.0" && mechanism == "CURVE" && frames.size() > 6 && frames[6].size() == 32) {
      char z85[41];
      zmq_z85_encode(z85, static_cast<const uint8_t*>(frames[6].data()), 32);
      auto it = allowed_.find(z85);
      if (it != allowed_.end()) {
        status = "200";
        text = "OK";
        user_id = it->second + ":" + std::string(z85, 8);
      } else {
        text = "unknown key";
        // Rate-limited: one line per 100 refusals, the counter says the rest.
        if (refused_ % 100 == 0) {
          log_.Warn("refused a connection from " + address + " with unknown key " + std::string(z85) + " (" +
                    std::to_string(refused_ + 1) + " refused so far)");
        }
      }
    } else {
      text = "mechanism " + mechanism + " not allowed";
    }
    if (status == "200") ++accepted_;
    else ++refused_;
    for (const std::string& part : {version.empty() ? std::string("1.0") : version, request_id, status, text, user_id}) {
      socket_.send(zmq::buffer(part), zmq::send_flags::sndmore);
    }
    socket_.send(zmq::message_t(), zmq::send_flags::none);  // metadata
  }
}

}  // namespace polysweep
