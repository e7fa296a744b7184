#include "common/wire.h"

#include <cerrno>
#include <cmath>
#include <vector>

namespace polysweep {

void ConfigureSocket(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::maxmsgsize, kMaxMessageBytes);
  socket.set(zmq::sockopt::sndhwm, kHighWaterMark);
  socket.set(zmq::sockopt::rcvhwm, kHighWaterMark);
  socket.set(zmq::sockopt::linger, 1000);
}

void ConfigureCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys) {
  socket.set(zmq::sockopt::curve_serverkey, keys.server_public);
  socket.set(zmq::sockopt::curve_publickey, keys.client.public_key);
  socket.set(zmq::sockopt::curve_secretkey, keys.client.secret_key);
}

namespace {

bool Finite(double v) { return std::isfinite(v); }

Status CheckString(const std::string& s, size_t max, const char* what) {
  if (s.size() > max) return Status::Error(std::string(what) + " longer than " + std::to_string(max) + " bytes");
  return Status::Ok();
}

Status CheckScore(double v, const char* what) {
  if (!Finite(v) || v < 0 || v > 1) return Status::Error(std::string(what) + " outside [0, 1]");
  return Status::Ok();
}

Status CheckProgress(const wire::Progress& p) {
  if (p.step() < 1 || p.samples() < 0 || p.max_steps() < 0) return Status::Error("progress counters out of range");
  if (p.resumed_from() < 0 || p.resumed_from() >= p.step()) {
    return Status::Error("progress step " + std::to_string(p.step()) + " not after the checkpoint it resumed from (" +
                         std::to_string(p.resumed_from()) + ")");
  }
  if (!Finite(p.loss()) || !Finite(p.lr()) || !Finite(p.samples_per_sec()) || p.samples_per_sec() < 0) {
    return Status::Error("progress values not finite");
  }
  return CheckString(p.position(), 64, "reader position");
}

}  // namespace

Status ValidateEnvelope(const wire::Envelope& env) {
  PS_RETURN_IF_ERROR(CheckString(env.sweep(), 100, "sweep name"));
  if (env.rank() < 0 || env.rank() >= 65536) return Status::Error("rank out of range");
  switch (env.body_case()) {
    case wire::Envelope::BODY_NOT_SET:
      return Status::Error("envelope has no body");
    case wire::Envelope::kHello: {
      const auto& h = env.hello();
      if (h.world_size() < 1 || h.world_size() > 65536) return Status::Error("world size out of range");
      if (env.rank() >= h.world_size()) return Status::Error("rank not below world size");
      return CheckString(h.host(), 255, "host name");
    }
    case wire::Envelope::kProgress:
      return CheckProgress(env.progress());
    case wire::Envelope::kProgressBatch: {
      const auto& reports = env.progress_batch().reports();
      if (reports.empty() || reports.size() > kMaxBatchReports) {
        return Status::Error("progress batch of " + std::to_string(reports.size()) + " reports (1 to " +
                             std::to_string(kMaxBatchReports) + ")");
      }
      for (int i = 0; i < reports.size(); ++i) {
        PS_RETURN_IF_ERROR(CheckProgress(reports[i]));
        if (i > 0 && reports[i].step() <= reports[i - 1].step()) return Status::Error("progress batch steps not increasing");
      }
      return Status::Ok();
    }
    case wire::Envelope::kEvaluation: {
      const auto& e = env.evaluation();
      if (e.step() < 1) return Status::Error("evaluation step out of range");
      if (!Finite(e.loss()) || e.loss() < 0) return Status::Error("evaluation loss not finite");
      PS_RETURN_IF_ERROR(CheckScore(e.accuracy(), "accuracy"));
      PS_RETURN_IF_ERROR(CheckScore(e.macro_f1(), "macro-F1"));
      PS_RETURN_IF_ERROR(CheckScore(e.precision(), "precision"));
      PS_RETURN_IF_ERROR(CheckScore(e.recall(), "recall"));
      PS_RETURN_IF_ERROR(CheckScore(e.f1(), "F1"));
      for (double v : {e.rmse(), e.mae()}) {
        if (!Finite(v) || v < 0) return Status::Error("evaluation error not finite");
      }
      for (double v : {e.pearson(), e.spearman()}) {
        if (!Finite(v) || v < -1 || v > 1) return Status::Error("evaluation correlation out of range");
      }
      if (e.entities_size() > 4096) return Status::Error("too many entity types");
      for (const auto& t : e.entities()) {
        PS_RETURN_IF_ERROR(CheckString(t.type(), 255, "entity type"));
        for (double v : {t.precision(), t.recall(), t.f1()}) PS_RETURN_IF_ERROR(CheckScore(v, "entity score"));
        if (t.support() < 0 || t.found() < 0) return Status::Error("negative entity count");
      }
      if (e.languages_size() > 4096) return Status::Error("too many language scores");
      for (const auto& l : e.languages()) {
        PS_RETURN_IF_ERROR(CheckString(l.lang(), 32, "language code"));
        PS_RETURN_IF_ERROR(CheckScore(l.f1(), "language F1"));
        PS_RETURN_IF_ERROR(CheckScore(l.accuracy(), "language accuracy"));
        if (l.count() < 0) return Status::Error("negative language count");
      }
      return Status::Ok();
    }
    case wire::Envelope::kClaim: {
      const auto& c = env.claim();
      if (c.world_size() < 1 || c.world_size() > 65536) return Status::Error("world size out of range");
      PS_RETURN_IF_ERROR(CheckString(c.agent(), 255, "agent name"));
      if (c.agent().empty()) return Status::Error("claim without an agent name");
      PS_RETURN_IF_ERROR(CheckString(c.slurm_step(), 255, "Slurm step"));
      return CheckString(c.host(), 255, "host name");
    }
    case wire::Envelope::kHeartbeat:
      if (env.heartbeat().step() < 0) return Status::Error("heartbeat step out of range");
      return CheckString(env.heartbeat().host(), 255, "host name");
    case wire::Envelope::kTrialEnd:
      if (env.trial_end().steps() < 0 || !Finite(env.trial_end().seconds())) return Status::Error("trial end out of range");
      return CheckString(env.trial_end().error(), 4096, "error text");
    default:
      return Status::Ok();
  }
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
    // Empty results mean the send timed out (ZMQ_SNDTIMEO) on a full queue.
    if (!socket.send(zmq::message_t(), zmq::send_flags::sndmore) ||
        !socket.send(zmq::buffer(payload), zmq::send_flags::none)) {
      return Status::Error("send timed out: the outgoing queue is full");
    }
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("send failed: ") + e.what());
  }
  return Status::Ok();
}

bool WaitReadable(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  try {
    return zmq::poll(&item, 1, timeout) > 0;
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;
    throw;
  }
}

StatusOr<wire::Envelope> ReceiveEnvelope(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  if (!WaitReadable(socket, timeout)) {
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

RequestClient::RequestClient(zmq::context_t& ctx, const std::string& endpoint,
                             const std::optional<CurveClientKeys>& curve)
    : socket_(ctx, zmq::socket_type::dealer), endpoint_(endpoint) {
  ConfigureSocket(socket_);
  // While the peer is away requests queue up; a full queue fails a send
  // instead of blocking the caller for good.
  socket_.set(zmq::sockopt::sndtimeo, 1000);
  if (curve) ConfigureCurveClient(socket_, *curve);
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
