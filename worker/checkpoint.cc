#include "worker/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "common/files.h"
#include "common/hash.h"
#include "common/shard.h"

namespace polysweep {
namespace fs = std::filesystem;

namespace {

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Error(dir + ": cannot open to fsync");
  ::fsync(fd);
  ::close(fd);
  return Status::Ok();
}

}  // namespace

Checkpointer::Checkpointer(std::string trial_dir, int keep, Communicator* comm, Logger log)
    : dir_(std::move(trial_dir)), keep_(std::max(1, keep)), comm_(comm), log_(std::move(log)) {
  if (comm_->rank() == 0) thread_ = std::thread([this] { Loop(); });
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status Checkpointer::Save(EncoderClassifier& model, torch::optim::Optimizer& optimizer, int64_t step,
                          const ReaderPosition& after) {
  if (comm_->rank() != 0) return Status::Ok();  // every rank holds the same state
  Pending p;
  p.step = step;
  p.position = after.Encode();
  std::ostringstream m, o;
  torch::save(model, m);
  torch::save(optimizer, o);
  p.model = m.str();
  p.optimizer = o.str();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !busy_ && !pending_; });  // one write at a time
  Status previous = last_;
  pending_ = std::move(p);
  cv_.notify_all();
  return previous;
}

Status Checkpointer::Flush() {
  if (comm_->rank() != 0) return Status::Ok();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !busy_ && !pending_; });
  return last_;
}

void Checkpointer::Loop() {
  while (true) {
    Pending p;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || pending_; });
      if (!pending_) return;  // stopping with nothing left to write
      p = std::move(*pending_);
      pending_.reset();
      busy_ = true;
    }
    Status s = Write(p);
    if (!s.ok()) log_.Error("checkpoint at step " + std::to_string(p.step) + " failed: " + s.message());
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
      last_ = s;
    }
    cv_.notify_all();
  }
}

Status Checkpointer::Write(const Pending& p) {
  const std::string final_dir = dir_ + "/step-" + std::to_string(p.step);
  const std::string tmp = final_dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Status::Error(tmp + ": cannot create: " + ec.message());
  CheckpointManifest m;
  m.step = p.step;
  m.position = p.position;
  m.world_size = comm_->size();
  for (const auto& [name, bytes] : {std::pair{"model.pt", &p.model}, std::pair{"optimizer.pt", &p.optimizer}}) {
    PS_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/" + name, *bytes));
    m.files.push_back({name, static_cast<int64_t>(bytes->size()), ChecksumHex(Fnv1a64(*bytes))});
  }
  m.wall_time = WallSeconds();
  PS_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/MANIFEST.json", CheckpointManifestToJson(m)));
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) return Status::Error(final_dir + ": cannot commit checkpoint: " + ec.message());
  PS_RETURN_IF_ERROR(SyncDir(dir_));
  // Retention: the newest `keep` checkpoints.
  auto all = ListCheckpoints(dir_);
  for (size_t i = static_cast<size_t>(keep_); i < all.size(); ++i) fs::remove_all(all[i], ec);
  return Status::Ok();
}

StatusOr<std::optional<CheckpointManifest>> Checkpointer::Restore(EncoderClassifier& model,
                                                                  torch::optim::Optimizer& optimizer) {
  // Rank 0 chooses, so every rank loads the same checkpoint.
  int64_t chosen = -1;
  if (comm_->rank() == 0) {
    for (const std::string& dir : ListCheckpoints(dir_)) {
      auto m = VerifyCheckpoint(dir);
      if (m.ok()) {
        chosen = m->step;
        break;
      }
      log_.Warn("checkpoint " + dir + " is unusable (" + m.status().message() + "); trying the previous one");
    }
  }
  PS_RETURN_IF_ERROR(comm_->Broadcast(&chosen, sizeof chosen, 0));
  if (chosen < 0) return std::optional<CheckpointManifest>();
  const std::string dir = dir_ + "/step-" + std::to_string(chosen);
  auto text = ReadFile(dir + "/MANIFEST.json");
  if (!text.ok()) return text.status();
  auto m = ParseCheckpointManifest(*text, dir + "/MANIFEST.json");
  if (!m.ok()) return m.status();
  try {
    torch::load(model, dir + "/model.pt");
    torch::load(optimizer, dir + "/optimizer.pt");
  } catch (const c10::Error& e) {
    return Status::Error(dir + ": cannot load checkpoint: " + e.what_without_backtrace());
  }
  return std::optional<CheckpointManifest>(*m);
}

}  // namespace polysweep
