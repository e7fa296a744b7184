#include "worker/reporter.h"

#include <optional>

namespace polysweep {

struct CoordinatorClient::Item {
  wire::Envelope env;
  std::optional<StatusOr<wire::Envelope>> result;
};

CoordinatorClient::CoordinatorClient(zmq::context_t& ctx, const std::string& endpoint, TrialIdentity id,
                                     const std::optional<CurveClientKeys>& curve,
                                     std::chrono::milliseconds outage_timeout, const Logger& log)
    : id_(std::move(id)), endpoint_(endpoint), outage_timeout_(outage_timeout), log_(log),
      client_(ctx, endpoint, curve) {
  thread_ = std::thread([this] { Loop(); });
}

CoordinatorClient::~CoordinatorClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

StatusOr<wire::Envelope> CoordinatorClient::Submit(wire::Envelope env, bool wait) {
  env.set_sweep(id_.sweep);
  env.set_trial(id_.trial);
  env.set_attempt(id_.attempt);
  env.set_rank(id_.rank);
  auto item = std::make_shared<Item>();
  item->env = std::move(env);
  std::unique_lock<std::mutex> lock(mu_);
  if (!failed_.ok()) return failed_;
  queue_.push_back(item);
  cv_.notify_all();
  if (!wait) return wire::Envelope();
  cv_.wait(lock, [&] { return item->result.has_value() || stop_; });
  if (!item->result) return Status::Error("reporter stopped");
  return *item->result;
}

void CoordinatorClient::set_on_delivered(DeliveredFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  on_delivered_ = std::move(fn);
}

namespace {

// How many items at the front of `queue` go in the next message: the first,
// and when it is a progress report, the progress reports queued right behind
// it (steps increasing, at most kMaxBatchReports).
template <typename Queue>
size_t NextMessageLength(const Queue& queue) {
  size_t n = 1;
  if (!queue.front()->env.has_progress()) return n;
  while (n < queue.size() && n < static_cast<size_t>(kMaxBatchReports) && queue[n]->env.has_progress() &&
         queue[n]->env.progress().step() > queue[n - 1]->env.progress().step()) {
    ++n;
  }
  return n;
}

}  // namespace

void CoordinatorClient::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    const size_t n = NextMessageLength(queue_);
    wire::Envelope env = queue_.front()->env;  // the rank's identity, and the body of a message alone
    if (n > 1) {
      env.clear_progress();
      auto* batch = env.mutable_progress_batch();
      for (size_t i = 0; i < n; ++i) *batch->add_reports() = queue_[i]->env.progress();
    }
    lock.unlock();
    StatusOr<wire::Envelope> result = Deliver(env);
    if (result.ok() && on_delivered_) on_delivered_(env);  // set before the first report, not changed after
    lock.lock();
    for (size_t i = 0; i < n; ++i) {
      queue_.front()->result = result;
      queue_.pop_front();
    }
    if (!result.ok()) {
      failed_ = result.status();
      for (auto& rest : queue_) rest->result = failed_;
      queue_.clear();
    }
    cv_.notify_all();
  }
}

StatusOr<wire::Envelope> CoordinatorClient::Deliver(const wire::Envelope& env) {
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> unreachable_since;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return Status::Error("reporter stopped");
    }
    auto reply = client_.Call(env, kTryTimeout);
    if (reply.ok()) {
      if (unreachable_since) {
        const double away = std::chrono::duration<double>(Clock::now() - *unreachable_since).count();
        log_.Info("coordinator at " + endpoint_ + " answers again after " + std::to_string(static_cast<int>(away)) +
                  " s; reports resume");
      }
      if (reply->has_reject()) return Status::Error("coordinator rejected the message: " + reply->reject().reason());
      if (reply->has_ack() && reply->ack().command() != wire::COMMAND_NONE) command_ = reply->ack().command();
      return reply;
    }
    const auto now = Clock::now();
    if (!unreachable_since) {
      unreachable_since = now;
      log_.Warn("coordinator at " + endpoint_ + " does not answer (" + reply.status().message() +
                "); resending for up to " + std::to_string(outage_timeout_.count() / 1000) +
                " s while training goes on");
    } else if (now - *unreachable_since >= outage_timeout_) {
      return Status::Error("coordinator at " + endpoint_ + " unreachable for " +
                           std::to_string(outage_timeout_.count() / 1000) +
                           " s (trial.coordinator_timeout_seconds): " + reply.status().message());
    }
  }
}

StatusOr<wire::Assignment> CoordinatorClient::Hello(int world_size, const std::string& host, int pid,
                                                     const std::string& slurm_step) {
  wire::Envelope env;
  env.mutable_hello()->set_world_size(world_size);
  env.mutable_hello()->set_host(host);
  env.mutable_hello()->set_pid(pid);
  env.mutable_hello()->set_slurm_step(slurm_step);
  auto reply = Submit(std::move(env), true);
  if (!reply.ok()) return reply.status();
  if (!reply->has_assignment()) return Status::Error("coordinator answered Hello without an assignment");
  return reply->assignment();
}

Status CoordinatorClient::Progress(const wire::Progress& p) {
  wire::Envelope env;
  *env.mutable_progress() = p;
  return Submit(std::move(env), false).status();
}

Status CoordinatorClient::Evaluation(const wire::Evaluation& e) {
  wire::Envelope env;
  *env.mutable_evaluation() = e;
  return Submit(std::move(env), false).status();
}

StatusOr<int64_t> CoordinatorClient::EvaluationAtStop(const wire::Evaluation& e) {
  wire::Envelope env;
  *env.mutable_evaluation() = e;
  auto reply = Submit(std::move(env), true);
  if (!reply.ok()) return reply.status();
  return reply->has_ack() ? reply->ack().continue_to() : int64_t{0};
}

std::vector<wire::Envelope> CoordinatorClient::Unacknowledged() {
  std::vector<wire::Envelope> out;
  std::lock_guard<std::mutex> lock(mu_);
  // An item leaves the queue once its message is acknowledged: the front
  // ones may be in flight, and are kept as well.
  for (const auto& item : queue_) {
    wire::Envelope report;
    if (item->env.has_progress()) {
      *report.mutable_progress() = item->env.progress();
      if (report.progress().origin_attempt() == 0) report.mutable_progress()->set_origin_attempt(id_.attempt);
    } else if (item->env.has_evaluation()) {
      *report.mutable_evaluation() = item->env.evaluation();
      if (report.evaluation().origin_attempt() == 0) report.mutable_evaluation()->set_origin_attempt(id_.attempt);
    } else {
      continue;
    }
    out.push_back(std::move(report));
  }
  return out;
}

Status CoordinatorClient::End(const wire::TrialEnd& e) {
  wire::Envelope env;
  *env.mutable_trial_end() = e;
  return Submit(std::move(env), true).status();
}

}  // namespace polysweep
