#include "launcher/agent_pool.h"

#include <csignal>

#include <algorithm>

#include "common/worker_command.h"

namespace polysweep {

struct AgentPool::Slot {
  uint64_t trial = 0;
  uint32_t attempt = 0;
  std::string agent;  // empty while queued
  std::optional<ExitInfo> exit;
};

namespace {

class AgentTrial : public TrialProcess {
 public:
  explicit AgentTrial(std::shared_ptr<AgentPool::Slot> slot) : slot_(std::move(slot)) {}

  std::optional<ExitInfo> Poll() override { return slot_->exit; }

  ExitInfo Kill(int /*grace_ms*/) override {
    if (!slot_->exit) {
      slot_->exit = ExitInfo::Signal(
          SIGKILL, slot_->agent.empty()
                       ? "ended before an agent claimed it"
                       : "agent " + slot_->agent + " was given up (its processes are not the coordinator's to kill)");
    }
    return *slot_->exit;
  }

  int pid() const override { return 0; }
  std::string handle() const override { return "agent:" + (slot_->agent.empty() ? "queued" : slot_->agent); }
  bool started() const override { return !slot_->agent.empty(); }

 private:
  std::shared_ptr<AgentPool::Slot> slot_;
};

// The value after `flag` in `args`, or 0.
uint64_t FlagValue(const std::vector<std::string>& args, const std::string& flag) {
  auto it = std::find(args.begin(), args.end(), flag);
  if (it == args.end() || ++it == args.end()) return 0;
  try {
    return std::stoull(*it);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

void AgentPool::Prune() {
  slots_.erase(std::remove_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->exit.has_value(); }),
               slots_.end());
}

StatusOr<std::unique_ptr<TrialProcess>> AgentPool::Launch(const LaunchSpec& spec) {
  Prune();
  auto slot = std::make_shared<Slot>();
  slot->trial = spec.trial;
  slot->attempt = spec.attempt;
  slots_.push_back(slot);
  return std::unique_ptr<TrialProcess>(std::make_unique<AgentTrial>(slot));
}

std::unique_ptr<TrialProcess> AgentPool::Adopt(const std::string& handle, const std::vector<std::string>& args) {
  const std::string prefix = "agent:";
  if (handle.rfind(prefix, 0) != 0 || handle == "agent:queued") return nullptr;
  auto slot = std::make_shared<Slot>();
  slot->trial = FlagValue(args, WorkerFlags::kTrial);
  slot->attempt = static_cast<uint32_t>(FlagValue(args, WorkerFlags::kAttempt));
  slot->agent = handle.substr(prefix.size());
  if (slot->trial == 0 || slot->attempt == 0 || slot->agent.empty()) return nullptr;
  Prune();
  slots_.push_back(slot);
  return std::make_unique<AgentTrial>(slot);
}

std::optional<AgentPool::Claimed> AgentPool::Claim(const std::string& agent) {
  Prune();
  for (auto& slot : slots_) {
    if (!slot->agent.empty()) continue;
    slot->agent = agent;
    return Claimed{slot->trial, slot->attempt, "agent:" + agent};
  }
  return std::nullopt;
}

uint64_t AgentPool::Abandon(const std::string& agent, const std::string& cause) {
  for (auto& slot : slots_) {
    if (slot->agent != agent || slot->exit) continue;
    slot->exit = ExitInfo::Code(1, cause);
    return slot->trial;
  }
  return 0;
}

void AgentPool::Finish(uint64_t trial, uint32_t attempt) {
  for (auto& slot : slots_) {
    if (slot->trial == trial && slot->attempt == attempt && !slot->exit) slot->exit = ExitInfo{};
  }
}

int AgentPool::queued() const {
  return static_cast<int>(std::count_if(slots_.begin(), slots_.end(),
                                        [](const auto& s) { return s->agent.empty() && !s->exit; }));
}

}  // namespace polysweep
