// Checkpoints of a trial: model and optimizer state, every rank's RNG state
// (CPU training), the step, and the reader position (the learning-rate
// schedule is a function of the step). Rank 0 serialises the state in memory (the only part that holds
// up training) and a background thread writes it: files into step-N.tmp,
// fsync, the manifest last, rename to step-N, fsync the directory. Only the
// newest `keep` checkpoints stay. Restore picks the newest checkpoint that
// verifies against its manifest, says so when it has to fall back to an
// older one, and loads it on every rank. Heavy header (LibTorch).
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/checkpoint_manifest.h"
#include "common/log.h"
#include "common/sampling.h"
#include "common/status.h"
#include "worker/comm/communicator.h"
#include "worker/model.h"

namespace polysweep {

class Checkpointer {
 public:
  Checkpointer(std::string trial_dir, int keep, Communicator* comm, Logger log);
  ~Checkpointer();  // waits for a write under way
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Collective: call on every rank after step `step`. The ranks' RNG states
  // are gathered on rank 0, which snapshots and hands the write to the
  // background thread (waiting first for the previous write).
  Status Save(EncoderClassifier& model, torch::optim::Optimizer& optimizer, int64_t step,
              const ReaderPosition& after);
  // Waits for the write under way; returns its result.
  Status Flush();
  // Collective: loads the newest good checkpoint into model and optimizer on
  // every rank. nullopt when the trial has none.
  // Each rank gets its own RNG state back when the checkpoint has them for
  // the same number of ranks (see rng_restored()).
  StatusOr<std::optional<CheckpointManifest>> Restore(EncoderClassifier& model, torch::optim::Optimizer& optimizer);
  // Whether the last Restore set this rank's RNG state; when not, the caller
  // seeds it.
  bool rng_restored() const { return rng_restored_; }

 private:
  struct Pending {
    int64_t step = 0;
    std::string position;
    std::string model;
    std::string optimizer;
    std::string rng;  // every rank's CPU generator state, rank after rank
  };
  // Every rank's RNG state, concatenated by rank, on every rank; empty for
  // device-memory (GPU) backends, whose CUDA generators are not saved.
  StatusOr<std::string> GatherRngStates();
  Status RestoreRngState(const std::string& dir, const CheckpointManifest& m);
  Status Write(const Pending& p);
  void Loop();

  std::string dir_;
  int keep_;
  Communicator* comm_;
  Logger log_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Pending> pending_;
  bool busy_ = false;
  bool stop_ = false;
  Status last_;
  bool rng_restored_ = false;
  std::thread thread_;
};

}  // namespace polysweep
