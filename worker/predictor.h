// Classifying text with an exported model (common/model_package.h): the
// tokenizer it was trained with, the encoder classifier, and its label map.
// Heavy header (LibTorch).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "common/model_package.h"
#include "common/tagged.h"
#include "common/status.h"
#include "tokenizer/tokenizer.h"
#include "worker/int8.h"
#include "worker/model.h"

namespace polysweep {

struct Prediction {
  double value = 0;            // a regression model's prediction (label and probs then unused)
  int label = 0;               // index into package().labels: the most probable
  std::vector<float> probs;    // per label, summing to 1 (multi-label: each label's own probability)
  // A multi-label model's labels: those whose probability reaches the
  // package's threshold (indices into package().labels, in its order).
  std::vector<int> labels;
  std::vector<int> ids;        // the token ids the text was classified as
};

// Token classification: one word's tag (an index into package().labels,
// -1 for a word past the model's max_length) and its probability.
struct WordTag {
  int tag = -1;
  float probability = 0;
};

// A sentence's words' tags, and the entity spans of entity tags (common/tagged.h).
struct Tagging {
  std::vector<WordTag> words;
  std::vector<Span> entities;
};

class Predictor {
 public:
  // Loads DIR (model.json, weights, tokenizer); errors name the file. With
  // quantize.int8, the encoder's wide linear layers are quantized
  // (--quantize int8).
  static StatusOr<std::unique_ptr<Predictor>> Load(const std::string& dir, const QuantizeOptions& quantize = {});

  // Classifies `texts` in one batch; a pair model (package().text_pair_field
  // set) classifies each text with its `pairs` entry as a text pair.
  StatusOr<std::vector<Prediction>> Classify(const std::vector<std::string>& texts,
                                             const std::vector<std::string>& pairs = {});
  // The label index of each example of a batch of ids (padding true at
  // padding; token types of text pairs, or undefined).
  std::vector<int> Labels(const torch::Tensor& ids, const torch::Tensor& pad, const torch::Tensor& types);
  // A token classifier (package().task token_classification): tags each
  // sentence's words, as the shards align them (tokenizer/words.h: a
  // word's tag is its first piece's). `langs`: each sentence's language,
  // one of a model with model.word_features' features (none when empty).
  StatusOr<std::vector<Tagging>> Tag(const std::vector<std::vector<std::string>>& sentences,
                                     const std::vector<std::string>& langs = {});
  // The tag index (argmax) at every position of a batch of ids (and of
  // their word features, for a model that reads them): [batch, length]
  // int64; with `probs`, each one's probability too.
  torch::Tensor TokenTags(const torch::Tensor& ids, const torch::Tensor& pad, const torch::Tensor& types,
                          const torch::Tensor& features, torch::Tensor* probs = nullptr);
  // A regression model: each example's prediction, [batch] float.
  torch::Tensor Values(const torch::Tensor& ids, const torch::Tensor& pad, const torch::Tensor& types);
  // A multi-label model: each label's probability, [batch, labels] float.
  torch::Tensor LabelProbabilities(const torch::Tensor& ids, const torch::Tensor& pad, const torch::Tensor& types);
  // What the model's task labels (common/tasks.h): never kMaskedTokens.
  LabelKind label_kind() const { return label_; }
  bool tags_words() const { return label_ == LabelKind::kTokenClassIds; }
  bool regresses() const { return label_ == LabelKind::kRealValue; }
  bool multi_label() const { return label_ == LabelKind::kMultiHot; }
  const SpanTags& span_tags() const { return span_tags_; }
  const ModelPackage& package() const { return package_; }
  // With --quantize int8: how many linear layers run in int8, of linear_layers().
  int int8_layers() const { return int8_layers_; }
  int linear_layers() const { return 4 * package_.layers; }
  int pad_id() const { return tokenizer_->pad_id(); }

 private:
  Predictor() = default;
  // The ids of texts[i] (and pairs[i]), truncated to the model's length;
  // where the pair's second text begins.
  Status EncodeRow(const std::vector<std::string>& texts, const std::vector<std::string>& pairs, size_t i,
                   std::vector<int>* ids, size_t* second) const;
  ModelPackage package_;
  std::unique_ptr<Tokenizer> tokenizer_;
  EncoderClassifier model_{nullptr};
  int int8_layers_ = 0;
  LabelKind label_ = LabelKind::kClassId;
  SpanTags span_tags_;   // its entity types (none for plain tags)
};

}  // namespace polysweep
