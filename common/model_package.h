// An exported model: a directory a sweep writes for its best trial
// (<output_dir>/model) and `polysweep predict` reads, or `polysweep pretrain`
// writes (a masked-language model: model.init's input). It holds the weights
// (model.pt, a LibTorch archive of the encoder classifier), the SentencePiece
// tokenizer the shards were encoded with, and model.json: the architecture,
// the label map, and where the model came from. Plain data; no LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/word_features.h"

#include "common/hf_config.h"
#include "common/status.h"
#include "common/tagged.h"
#include "common/token_ids.h"
#include "common/tasks.h"

namespace polysweep {

struct ModelPackage {
  static constexpr const char* kFormat = "polysweep-classifier";
  static constexpr int kVersion = 1;
  // The task, by its registry name (common/tasks.h); a task without a label
  // map (masked_lm, `polysweep pretrain`'s) has no labels.
  static constexpr const char* kSequenceClassification = TaskKindName(TaskKind::kSequenceClassification);
  static constexpr const char* kTokenClassification = TaskKindName(TaskKind::kTokenClassification);
  static constexpr const char* kMaskedLm = TaskKindName(TaskKind::kMaskedLm);
  static constexpr const char* kMultiLabel = TaskKindName(TaskKind::kMultiLabel);
  std::string task = kSequenceClassification;  // a name ParseTaskKind takes (checked by the parser)
  // Architecture (worker/model.h ModelShape).
  int vocab = 0;
  int layers = 0;
  int hidden = 0;
  int heads = 0;
  int ffn = 0;
  int max_length = 0;
  int word_features = 0;               // > 0: rows of the word feature embedding (model.word_features)
  // How many of each piece's word feature hashes it reads (the first N of
  // common/word_features.h's): kWordFeatures; models exported before the
  // context features read kOwnWordFeatures, which an absent key means.
  int word_feature_width = 0;
  int lora_rank = 0;                   // > 0: the layers carry LoRA adapters (worker/model.h LoraSpec)
  double lora_alpha = 16;
  std::string lora_targets = "attention";
  std::vector<std::string> labels;     // class index -> label
  std::vector<std::string> languages;  // the languages it was trained on
  // A model of text pairs: the field of the second text in its training
  // data (what `polysweep predict` reads next to the text); empty: single texts.
  std::string text_pair_field;
  // A token classifier's tag scheme (common/tagged.h): whether its tags
  // make entity spans (none: plain tags); kAuto for other tasks.
  TagScheme tag_scheme = TagScheme::kAuto;
  // A multi-label classifier's decision threshold (its trial's
  // hyperparameter): a label is predicted when its probability reaches it.
  double threshold = 0.5;
  std::string weights_file = "model.pt";
  std::string tokenizer_file = "tokenizer.model";
  std::string tokenizer_hash;
  TokenIds tokenizer_ids = TokenIds::kSentencePiece;
  // A model fine-tuned from a Hugging Face checkpoint: its base's
  // config.json, copied into the package (hf_config_file, empty otherwise),
  // which decides the architecture, and whether the base's pooler feeds the
  // head. `hf` is that file, read by LoadModelPackage.
  std::string hf_config_file;
  bool hf_pooler = false;
  std::optional<HfModelConfig> hf;
  // Provenance.
  std::string sweep;
  uint64_t trial = 0;
  int64_t step = 0;                            // of the checkpoint
  std::map<std::string, std::string> hparams;  // the trial's resolved hyperparameters
  std::string metric;                          // the sweep's objective, e.g. "macro_f1"
  double metric_value = 0;                     // the trial's value of it
};

std::string ModelPackageToJson(const ModelPackage& p);
// `where` names the file in messages; every missing or wrong field is named.
StatusOr<ModelPackage> ParseModelPackage(const std::string& json, const std::string& where);
// Reads DIR/model.json and checks the files it names exist.
StatusOr<ModelPackage> LoadModelPackage(const std::string& dir);

}  // namespace polysweep
