// The checkpoint manifest: what makes a checkpoint exist. A checkpoint is a
// directory <trial dir>/step-<N>/ whose files are listed here with sizes and
// checksums; it is written into step-<N>.tmp and renamed into place only after
// every file and this manifest are on disk. Plain C++: the coordinator (for
// retention) and the ranks (to resume) both read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "polysweep.pb.h"

namespace polysweep {

struct CheckpointFile {
  std::string name;      // plain file name inside the checkpoint directory
  int64_t bytes = 0;
  std::string checksum;  // hex FNV-1a 64
};

// Early stopping's count after a step: the best score so far (higher is
// better; none before the first evaluation) and the evaluations since it.
struct EarlyStopCount {
  std::optional<double> best_score;
  int32_t evals_since_best = 0;
};

struct CheckpointManifest {
  int version = 1;
  int64_t step = 0;           // optimizer steps done
  std::string position;       // reader position after `step` ("epoch:offset")
  int32_t world_size = 0;     // ranks that wrote it (resuming on others is fine)
  double wall_time = 0;       // when its state was taken (rank 0, at the end of its step)
  // The sweep's objective at this step, oriented so higher is better
  // (infeasible: -inf), when the trial was evaluated here; retention keeps
  // the best-scoring checkpoints.
  std::optional<double> score;
  // Carried across a resume, so a restarted or promoted trial stops early
  // where an uninterrupted one would.
  EarlyStopCount early_stop;
  // Rank 0's reports (Progress and Evaluation envelopes, oldest first) that
  // the coordinator had not acknowledged when this checkpoint was taken, each
  // stamped with the attempt that made it: an attempt resuming here replays
  // them, so none is lost when the coordinator and a rank die around them.
  // nullopt: a manifest written before polysweep recorded them.
  std::optional<std::vector<wire::Envelope>> unacknowledged;
  std::vector<CheckpointFile> files;
};

std::string CheckpointManifestToJson(const CheckpointManifest& m);
StatusOr<CheckpointManifest> ParseCheckpointManifest(const std::string& json, const std::string& where);

// Verifies every file of the checkpoint in `dir` against its manifest.
StatusOr<CheckpointManifest> VerifyCheckpoint(const std::string& dir);

// The checkpoint directories of a trial ("step-N"), newest first.
std::vector<std::string> ListCheckpoints(const std::string& trial_dir);

// The trial's best-scoring checkpoint that verifies (the newer of equal
// scores); without scored ones, the newest that verifies. "" when none.
std::string BestCheckpoint(const std::string& trial_dir);

// The fence on a trial's checkpoints: before it launches an attempt, the
// coordinator writes the attempt's number to TRIAL_DIR/ATTEMPT, and a rank
// commits or removes checkpoints there only while no later attempt has
// taken the directory over. An attempt cut off from the coordinator (a
// partitioned node whose ranks run on unseen while the trial restarts
// elsewhere) thus never overwrites or prunes its successor's checkpoints.
Status WriteAttemptFence(const std::string& trial_dir, int attempt);
// Ok while TRIAL_DIR/ATTEMPT holds `attempt` or less (or is absent: a
// directory no coordinator fenced); an error naming the later attempt else.
Status CheckAttemptFence(const std::string& trial_dir, int attempt);

}  // namespace polysweep
