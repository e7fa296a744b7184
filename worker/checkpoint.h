// Checkpoints of a trial: model and optimizer state, every rank's RNG state
// (the CPU generator, or the device's CUDA generator with a GPU backend), the step, and the reader position (the learning-rate
// schedule is a function of the step). Rank 0 serialises the state in memory (the only part that holds
// up training) and a background thread writes it: files into step-N.tmp,
// fsync, the manifest last, rename to step-N, fsync the directory. The
// newest `keep` checkpoints stay, and the `keep_best` with the best scores
// (the sweep's objective where the trial was evaluated), so a trial's best
// model survives however long it trains on. Restore picks the newest checkpoint that
// verifies against its manifest, says so when it has to fall back to an
// older one, and loads it on every rank. Heavy header (LibTorch).
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/checkpoint_manifest.h"
#include "common/log.h"
#include "common/sampling.h"
#include "common/status.h"
#include "worker/comm/communicator.h"
#include "worker/model.h"

namespace polysweep {

class Checkpointer {
 public:
  // `attempt` > 0: commits and prunes only while the directory's fence
  // (WriteAttemptFence) names no later attempt.
  Checkpointer(std::string trial_dir, int keep, Communicator* comm, Logger log, int keep_best = 0, int attempt = 0);
  ~Checkpointer();  // waits for a write under way
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Collective: call on every rank after step `step`. The ranks' RNG states
  // are gathered on rank 0, which snapshots and hands the write to the
  // background thread (waiting first for the previous write).
  // `score`: the objective of an evaluation at this step (higher is better).
  // `early_stop`: early stopping's count after this step, restored with it.
  // `unacknowledged`: rank 0's reports the coordinator has not acknowledged
  // yet (Reporter::Unacknowledged), kept in the manifest for a resume to replay.
  Status Save(EncoderClassifier& model, torch::optim::Optimizer& optimizer, int64_t step,
              const ReaderPosition& after, std::optional<double> score = std::nullopt,
              const EarlyStopCount& early_stop = {}, std::vector<wire::Envelope> unacknowledged = {});
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
  // How long the last Restore took: choosing, verifying and loading.
  double restore_seconds() const { return restore_seconds_; }

 private:
  struct Pending {
    int64_t step = 0;
    double wall_time = 0;  // when Save took the state, not when the writer got to it
    std::string position;
    std::string model;
    std::string optimizer;
    std::string rng;  // every rank's CPU generator state, rank after rank
    std::optional<double> score;
    EarlyStopCount early_stop;
    std::vector<wire::Envelope> unacknowledged;
  };
  // Removes what neither the newest `keep_` nor the best `keep_best_` hold.
  void Retain();
  // The generator training draws from: the CPU one, or with a GPU backend the
  // current device's CUDA generator.
  at::Generator TrainingGenerator() const;
  // Every rank's RNG state, concatenated by rank, on every rank.
  StatusOr<std::string> GatherRngStates();
  Status RestoreRngState(const std::string& dir, const CheckpointManifest& m);
  Status Write(const Pending& p);
  void Loop();

  std::string dir_;
  int keep_;
  int keep_best_;
  int attempt_;
  Communicator* comm_;
  Logger log_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Pending> pending_;
  bool busy_ = false;
  bool stop_ = false;
  Status last_;
  bool rng_restored_ = false;
  double restore_seconds_ = 0;
  std::thread thread_;
};

}  // namespace polysweep
