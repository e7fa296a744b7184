#include "worker/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
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

// Deletes a checkpoint directory so that a kill midway leaves no half-deleted
// "step-N": it is renamed out of the way first, then removed.
void RemoveCheckpointDir(const std::string& dir) {
  std::error_code ec;
  const std::string doomed = dir + ".del";
  fs::remove_all(doomed, ec);
  fs::rename(dir, doomed, ec);
  fs::remove_all(ec ? dir : doomed, ec);
}

}  // namespace

Checkpointer::Checkpointer(std::string trial_dir, int keep, Communicator* comm, Logger log, int keep_best, int attempt)
    : dir_(std::move(trial_dir)), keep_(std::max(1, keep)), keep_best_(std::max(0, keep_best)), attempt_(attempt), comm_(comm),
      log_(std::move(log)) {
  if (comm_->rank() != 0) return;
  // A writer killed midway leaves step-N.tmp or step-N.del behind: never a
  // checkpoint, only garbage.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string ext = e.path().extension().string();
    if (ext == ".tmp" || ext == ".del") fs::remove_all(e.path(), ec);
  }
  thread_ = std::thread([this] { Loop(); });
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

at::Generator Checkpointer::TrainingGenerator() const {
  // A GPU backend trains on the rank's current device: dropout draws from its
  // CUDA generator (GPU-only: a CPU-only LibTorch has none, and a device
  // backend never runs there). On CPU, the process's generator.
  if (comm_->device_memory()) return at::globalContext().defaultGenerator(at::Device(at::kCUDA));
  return at::detail::getDefaultCPUGenerator();
}

StatusOr<std::string> Checkpointer::GatherRngStates() {
  torch::Tensor state;
  try {
    at::Generator gen = TrainingGenerator();  // a handle on the process's generator
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  } catch (const c10::Error& e) {
    return Status::Error(std::string("cannot read the RNG state: ") + e.what_without_backtrace());
  }
  const size_t n = static_cast<size_t>(state.numel());
  std::string all(n * static_cast<size_t>(comm_->size()), '\0');
  std::memcpy(all.data() + n * static_cast<size_t>(comm_->rank()), state.data_ptr<uint8_t>(), n);
  for (int r = 0; r < comm_->size(); ++r) {
    PS_RETURN_IF_ERROR(comm_->Broadcast(all.data() + n * static_cast<size_t>(r), n, r));
  }
  return all;
}

Status Checkpointer::Save(EncoderClassifier& model, torch::optim::Optimizer& optimizer, int64_t step,
                          const ReaderPosition& after, std::optional<double> score,
                          const EarlyStopCount& early_stop, std::vector<wire::Envelope> unacknowledged) {
  auto rng = GatherRngStates();
  if (!rng.ok()) return rng.status();
  if (comm_->rank() != 0) return Status::Ok();  // every rank holds the same model and optimizer state
  Pending p;
  p.wall_time = WallSeconds();
  p.rng = std::move(*rng);
  p.step = step;
  p.position = after.Encode();
  if (score && !std::isnan(*score)) p.score = score;
  p.early_stop = early_stop;
  p.unacknowledged = std::move(unacknowledged);
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
  for (const auto& [name, bytes] :
       {std::pair{"model.pt", &p.model}, std::pair{"optimizer.pt", &p.optimizer}, std::pair{"rng.bin", &p.rng}}) {
    if (bytes->empty()) continue;
    PS_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/" + name, *bytes));
    m.files.push_back({name, static_cast<int64_t>(bytes->size()), ChecksumHex(Fnv1a64(*bytes))});
  }
  m.wall_time = p.wall_time;
  m.score = p.score;
  m.early_stop = p.early_stop;
  m.unacknowledged = p.unacknowledged;
  PS_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/MANIFEST.json", CheckpointManifestToJson(m)));
  if (Status fenced = attempt_ > 0 ? CheckAttemptFence(dir_, attempt_) : Status::Ok(); !fenced.ok()) {
    fs::remove_all(tmp, ec);
    return fenced;
  }
  if (fs::exists(final_dir)) RemoveCheckpointDir(final_dir);  // the same step again, after a restart
  fs::rename(tmp, final_dir, ec);
  if (ec) return Status::Error(final_dir + ": cannot commit checkpoint: " + ec.message());
  PS_RETURN_IF_ERROR(SyncDir(dir_));
  Retain();
  return Status::Ok();
}

void Checkpointer::Retain() {
  const std::vector<std::string> all = ListCheckpoints(dir_);  // newest first
  std::set<std::string> kept(all.begin(), all.begin() + std::min<size_t>(all.size(), static_cast<size_t>(keep_)));
  if (keep_best_ > 0) {
    // Scored checkpoints, best first; among equal scores the newer.
    std::vector<std::pair<double, size_t>> scored;
    for (size_t i = 0; i < all.size(); ++i) {
      auto text = ReadFile(all[i] + "/MANIFEST.json");
      if (!text.ok()) continue;
      auto m = ParseCheckpointManifest(*text, all[i]);
      if (m.ok() && m->score) scored.push_back({*m->score, i});
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t k = 0; k < scored.size() && k < static_cast<size_t>(keep_best_); ++k) kept.insert(all[scored[k].second]);
  }
  for (const std::string& dir : all) {
    if (!kept.count(dir)) RemoveCheckpointDir(dir);
  }
}

StatusOr<std::optional<CheckpointManifest>> Checkpointer::Restore(EncoderClassifier& model,
                                                                  torch::optim::Optimizer& optimizer) {
  const auto t0 = std::chrono::steady_clock::now();
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
  PS_RETURN_IF_ERROR(RestoreRngState(dir, *m));
  restore_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::optional<CheckpointManifest>(*m);
}

Status Checkpointer::RestoreRngState(const std::string& dir, const CheckpointManifest& m) {
  rng_restored_ = false;
  const bool has = std::any_of(m.files.begin(), m.files.end(), [](const CheckpointFile& f) { return f.name == "rng.bin"; });
  if (!has || m.world_size != comm_->size()) return Status::Ok();
  auto all = ReadFile(dir + "/rng.bin");
  if (!all.ok()) return all.status();
  const size_t n = all->size() / static_cast<size_t>(m.world_size);
  if (n == 0 || n * static_cast<size_t>(m.world_size) != all->size()) {
    return Status::Error(dir + "/rng.bin: " + std::to_string(all->size()) + " bytes do not split into " +
                         std::to_string(m.world_size) + " RNG states");
  }
  torch::Tensor state = torch::empty({static_cast<int64_t>(n)}, torch::kUInt8);
  std::memcpy(state.data_ptr<uint8_t>(), all->data() + n * static_cast<size_t>(comm_->rank()), n);
  try {
    at::Generator gen = TrainingGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  } catch (const c10::Error& e) {
    return Status::Error(dir + "/rng.bin: not an RNG state: " + e.what_without_backtrace());
  }
  rng_restored_ = true;
  return Status::Ok();
}

}  // namespace polysweep
