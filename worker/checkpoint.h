// Checkpoints of a trial: model and optimizer state, the step, and the reader
// position. Rank 0 serialises the state in memory (the only part that holds
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

  // Call on every rank after step `step`; rank 0 snapshots and hands the
  // write to the background thread (waiting first for the previous write).
  Status Save(EncoderClassifier& model, torch::optim::Optimizer& optimizer, int64_t step,
              const ReaderPosition& after);
  // Waits for the write under way; returns its result.
  Status Flush();
  // Collective: loads the newest good checkpoint into model and optimizer on
  // every rank. nullopt when the trial has none.
  StatusOr<std::optional<CheckpointManifest>> Restore(EncoderClassifier& model, torch::optim::Optimizer& optimizer);

 private:
  struct Pending {
    int64_t step = 0;
    std::string position;
    std::string model;
    std::string optimizer;
  };
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
  std::thread thread_;
};

}  // namespace polysweep
