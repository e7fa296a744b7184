// The sweep configuration: one YAML file, parsed once into these structs.
// Unknown keys and bad values are errors naming "FILE:LINE: key.path".
// Relative paths are resolved against the current working directory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/hparams.h"
#include "common/search_space.h"
#include "common/status.h"
#include "common/tagged.h"
#include "common/token_ids.h"

namespace polysweep {

struct DataConfig {
  std::vector<std::string> files;     // JSONL or TSV (with a header), optionally gzip-compressed
  std::string format = "auto";        // auto (by extension) | jsonl | tsv | conll
  std::string text_field = "text";
  std::string label_field = "label";
  std::string lang_field = "lang";
  std::string group_field;            // optional: rows sharing it stay in one split
  // Optional: every example is a text pair, this field its second text
  // (natural-language inference, matching), encoded as the tokenizer family
  // encodes pairs.
  std::string text_pair_field;
  // A published split kept instead of the hash split: each row names its
  // split in this field or TSV column (train; valid, validation or dev;
  // test), and/or whole files are given as data.train, data.valid and
  // data.test (data.files then optional; its rows split by the field or the
  // hash).
  std::string split_field;
  std::vector<std::string> train_files, valid_files, test_files;
  std::vector<std::string> languages; // empty = all
  int64_t max_per_language = 0;       // 0 = no cap
  double valid_fraction = 0.1;
  double test_fraction = 0.1;
  std::vector<std::string> labels;    // the label set; empty = whatever the data has
  // Token classification (model.task token_classification): JSONL's arrays
  // of words and tags; CoNLL's token and tag columns (0-based; tag -1: the
  // last) and the language of sentences no "# lang = xx" line names; the
  // tag scheme the tags are checked against; whether every piece of a word
  // is trained on its tag (else its first piece only).
  std::string tokens_field = "tokens";
  std::string tags_field = "tags";
  int token_column = 0;
  int tag_column = -1;
  std::string lang;
  TagScheme tag_scheme = TagScheme::kAuto;
  bool label_all_pieces = false;
  bool tagged = false;  // set from model.task, not the YAML: examples are tagged words
  bool needs_spans = false;  // set from metric, not the YAML: the tags must be entity tags
  bool real_labels = false;  // set from model.task, not the YAML: each label is a number (regression)
  // Multi-label classification (set from model.task): each label field is a
  // list of labels (JSON), or in TSV a cell of labels split at
  // label_separator; the field defaults to "labels".
  bool multi_label = false;
  std::string label_separator = ",";
  std::vector<std::string> extra_languages;  // codes accepted beyond ISO 639-1
  int vocab_size = 8000;              // SentencePiece vocabulary
  std::string tokenizer;              // an existing SentencePiece model; empty = train one
  std::string tokenizer_type = "unigram";  // unigram | bpe
  // Set from model.init, not the YAML: a Hugging Face checkpoint's
  // SentencePiece model numbers its pieces as fairseq does, and its
  // vocabulary must be the checkpoint's (0: any).
  TokenIds token_ids = TokenIds::kSentencePiece;
  int checkpoint_vocab = 0;
  int max_tokens = 256;               // tokens kept per example in the shards
  // Set from model.max_length with text_pair_field, not the YAML: a pair's
  // length budget, its longer text truncated first (as Hugging Face's
  // longest_first), so both texts and their separators survive.
  int pair_max_tokens = 0;
  double sampling_alpha = 1.0;        // p_lang ∝ n_lang^alpha
  std::string shard_dir;              // default <output_dir>/data
  int threads = 0;                    // tokenizer threads; 0 = all cores
  int64_t max_bad_lines = 0;          // bad lines tolerated (skipped, counted)
  int64_t max_line_bytes = 1 << 20;
};

struct ModelConfig {
  int layers = 2;
  int hidden = 128;
  int heads = 4;
  int ffn = 256;
  int max_length = 64;
  // Encoder weights to start from: a polysweep model directory (an export, or
  // `polysweep pretrain`'s output) or a TorchScript file; empty: random.
  std::string init;
  // The head (worker/heads.h): sequence_classification of labelled text, or
  // masked_lm (pretraining on unlabelled text; the data's labels are not read).
  std::string task = "sequence_classification";
  // token_classification: > 0 adds a word feature embedding of this many
  // rows (common/word_features.h: a word's lowercase form, prefixes,
  // suffixes, shape and language, hashed) to each piece's; 0: pieces only.
  int word_features = 0;
};

struct TrialResources {
  int ranks = 2;             // MPI ranks per trial
  int threads_per_rank = 1;  // LibTorch + OpenBLAS threads of each rank; 0 (`auto`): the host's CPUs / its ranks
  std::string backend = "mpi";
  // How ranks start: mpirun on this host, an srun step of the coordinator's
  // Slurm allocation, or an sbatch job per trial; auto = srun inside a Slurm
  // allocation (SLURM_JOB_ID set), mpirun otherwise. agents: pull mode, the
  // coordinator starts nothing and agents started elsewhere ask for trials.
  std::string launcher = "auto";
  std::vector<std::string> slurm_args;  // extra srun/sbatch flags, e.g. --partition=gpu
  // launcher mpirun without Slurm: an Open MPI host file ("HOST slots=N"
  // per line) whose slots concurrent trials are packed onto, disjoint; empty:
  // every trial on this host.
  std::string hosts;
  int max_restarts = 2;        // restarts after a crash, from the last checkpoint
  int64_t checkpoint_every = 100;  // steps between checkpoints; 0: none
  double checkpoint_every_seconds = 0;  // also checkpoint once this long has passed; 0: steps only
  int keep_checkpoints = 2;    // newest checkpoints kept per trial
  int keep_best_checkpoints = 1;  // also kept: the best-scoring by the metric (a checkpoint at every evaluation); 0: none
  double heartbeat_seconds = 5;    // each rank's liveness report interval
  double hang_timeout_seconds = 120;  // a rank whose work has not advanced this long is hung
  double start_timeout_seconds = 300; // from launch to a rank's first step (loading data, model)
  double coordinator_timeout_seconds = 300;  // ranks keep resending reports this long while the coordinator is away
  // > 0: trials do not train; each step waits this long and evaluations score
  // the hyperparameters with a fixed function (measures the sweep machinery).
  double synthetic_step_ms = 0;
  // The data-parallel engine: gradient bucket sizes, whether buckets
  // all-reduce during backward, and how long a collective may take before
  // the trial fails (a peer rank gone or stuck).
  double bucket_mb = 25;
  double first_bucket_mb = 1;
  bool overlap = true;
  double collective_timeout_seconds = 600;
};

// A name a module registers for one of its kinds (ConfigNames below).
template <typename Kind>
struct KindName {
  const char* name;
  Kind kind;
};

// The registered name of `kind`, or "?" when `names` has none.
template <typename Kind>
const char* NameOf(const std::vector<KindName<Kind>>& names, Kind kind) {
  for (const KindName<Kind>& n : names) {
    if (n.kind == kind) return n.name;
  }
  return "?";
}

// The searchers coordinator/searcher.h implements; their names are
// registered there (coordinator/search_algorithms.h).
enum class SearchAlgorithm { kGrid, kRandom, kQuasiRandom, kTpe };

struct SearchConfig {
  SearchAlgorithm algorithm = SearchAlgorithm::kRandom;
  uint64_t seed = 0;
  SearchSpace space;
  int startup_trials = 10;   // TPE: random trials before the model is used
  int candidates = 24;       // TPE: draws from the good density per parameter
  double gamma = 0.25;       // TPE: fraction of observations that are "good" (at most 25 of them)
};

struct MetricConfig {
  // accuracy | macro_f1 | valid_loss (overall), or language_f1 |
  // language_accuracy (per language, aggregated by `over`)
  std::string name = "macro_f1";
  std::string over;              // per-language metrics: macro | worst | a language code
  bool maximize = true;
  double min_language_f1 = 0;    // > 0: an evaluation with a language below it is infeasible
};

// How trials are stopped early and resumed. Steps are training steps. The
// schedulers' names are registered by coordinator/scheduler_kinds.h.
enum class SchedulerKind { kFifo, kAsha, kHyperband, kMedian };

// What a scheduler's grace and rungs count: training steps, or epochs (each
// trial's steps per epoch follow from its batch size, so trials of different
// batch sizes meet at a rung having seen the same data).
enum class BudgetUnit { kSteps, kEpochs };

struct SchedulerConfig {
  SchedulerKind kind = SchedulerKind::kFifo;
  BudgetUnit unit = BudgetUnit::kSteps;
  int64_t grace = 0;              // unit steps: steps before the first decision; 0: budget.eval_every
  double grace_epochs = 0;        // unit epochs: epochs before the first decision (default 1)
  double reduction_factor = 3;    // ASHA/Hyperband keep 1/reduction_factor of each rung
  int brackets = 3;               // Hyperband: ASHA brackets with grace × rf^b
  int min_trials = 3;             // median: trials reported at a step before any is stopped
  // ASHA/Hyperband: a trial promoted the moment it reaches its rung trains on
  // without pausing (no checkpoint written and reloaded); false: it pauses
  // at every rung, as with promotions decided later.
  bool promote_in_place = true;
};

struct BudgetConfig {
  int max_trials = 4;
  // At most one of max_steps / epochs is > 0; neither when the trials'
  // epochs are a hyperparameter (training.epochs or search.space.epochs).
  int64_t max_steps = 0;
  double epochs = 0;
  int64_t eval_every = 0;  // steps between evaluations; 0 = only at the end
  int64_t log_every = 10;  // steps between progress reports
  // When the sweep ends, the best test_top_k trials' best checkpoints are
  // scored on the test split (the best one's exported as <output_dir>/model,
  // the others as <output_dir>/models/trial-N) and journaled.
  int test_top_k = 1;
};

struct SecurityConfig {
  std::string curve = "auto";  // auto (on unless bound to loopback) | on | off
  std::string keys_dir;        // default <output_dir>/keys
};

// True when `endpoint` can only be reached from this host.
bool IsLoopbackEndpoint(const std::string& endpoint);

struct SweepConfig {
  std::string source_path;  // the YAML file it came from
  std::string source_text;  // its bytes, journaled with the sweep
  std::string name;
  std::string output_dir;   // default runs/<name>
  std::string bind = "tcp://127.0.0.1:*";
  int max_concurrent = 1;
  DataConfig data;
  ModelConfig model;
  TrialResources trial;
  TrainingParams training;
  SearchConfig search;
  MetricConfig metric;
  SchedulerConfig scheduler;
  BudgetConfig budget;
  SecurityConfig security;
  // Lines of the keys CheckConfigFiles reports on or needs to know were set
  // ("data.files[0]", "data.tokenizer", "model.init", "model.layers",
  // "training.dropout", ...), as the parser found them.
  std::map<std::string, int> lines;
  // CURVE authentication and encryption of the control plane, resolved.
  bool curve_enabled() const {
    return security.curve == "on" || (security.curve == "auto" && !IsLoopbackEndpoint(bind));
  }
};

// The most epochs any trial trains: budget.epochs, or the epochs
// hyperparameter's largest value (fixed or searched); 0 with budget.max_steps.
double MostEpochs(const SweepConfig& c);

// trial.threads_per_rank, with `auto` (0) resolved for a host of `cpus`
// CPUs running max_concurrent trials of trial.ranks ranks: floor(cpus /
// (ranks x max_concurrent)), at least 1.
int ResolvedThreadsPerRank(const SweepConfig& config, int cpus);

// The values the config accepts for keys whose meaning other modules
// implement: each module registers its names (coordinator/
// search_algorithms.h, coordinator/scheduler_kinds.h,
// launcher/launcher_names.h, worker/comm/backend_names.h) and the binary
// that parses a config assembles them (cli/config_names.h). The parser
// lists none of them itself. Tasks are common/tasks.h's registry.
struct ConfigNames {
  std::vector<KindName<SearchAlgorithm>> search_algorithms;  // search.algorithm
  std::vector<KindName<SchedulerKind>> schedulers;           // scheduler.type
  std::vector<std::string> launchers;                        // trial.launcher
  std::vector<std::string> backends;                         // trial.backend
};

// Parses YAML text; `path` only names the source in messages. Reads no
// file: what the config names on disk is checked by CheckConfigFiles.
StatusOr<SweepConfig> ParseSweepConfig(const std::string& yaml_text, const std::string& path,
                                       const ConfigNames& names);
// The data files and data.tokenizer exist; a model directory named by
// model.init has the configured architecture (and, when data.tokenizer is
// unset, its tokenizer encodes the data). Errors name FILE:LINE: key.
Status CheckConfigFiles(SweepConfig* config);
// Reads and parses `path`, then CheckConfigFiles.
StatusOr<SweepConfig> LoadSweepConfig(const std::string& path, const ConfigNames& names);

}  // namespace polysweep
