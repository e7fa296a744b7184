#include "worker/reporter.h"

namespace polysweep {

CoordinatorClient::CoordinatorClient(const std::string& endpoint, TrialIdentity id,
                                     const std::optional<CurveClientKeys>& curve)
    : id_(std::move(id)), ctx_(1), client_(ctx_, endpoint, curve) {}

StatusOr<wire::Envelope> CoordinatorClient::Call(wire::Envelope env) {
  env.set_sweep(id_.sweep);
  env.set_trial(id_.trial);
  env.set_attempt(id_.attempt);
  env.set_rank(id_.rank);
  auto reply = client_.Call(std::move(env), kReplyTimeout);
  if (!reply.ok()) return reply.status();
  if (reply->has_reject()) return Status::Error("coordinator rejected the message: " + reply->reject().reason());
  return reply;
}

StatusOr<wire::Assignment> CoordinatorClient::Hello(int world_size, const std::string& host, int pid) {
  wire::Envelope env;
  env.mutable_hello()->set_world_size(world_size);
  env.mutable_hello()->set_host(host);
  env.mutable_hello()->set_pid(pid);
  auto reply = Call(std::move(env));
  if (!reply.ok()) return reply.status();
  if (!reply->has_assignment()) return Status::Error("coordinator answered Hello without an assignment");
  return reply->assignment();
}

Status CoordinatorClient::Progress(const wire::Progress& p) {
  wire::Envelope env;
  *env.mutable_progress() = p;
  return Call(std::move(env)).status();
}

Status CoordinatorClient::Evaluation(const wire::Evaluation& e) {
  wire::Envelope env;
  *env.mutable_evaluation() = e;
  return Call(std::move(env)).status();
}

Status CoordinatorClient::End(const wire::TrialEnd& e) {
  wire::Envelope env;
  *env.mutable_trial_end() = e;
  return Call(std::move(env)).status();
}

}  // namespace polysweep
