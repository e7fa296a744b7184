#include "worker/predictor.h"

#include <algorithm>

#include "worker/batching.h"
#include "worker/dataset.h"

namespace polysweep {

StatusOr<std::unique_ptr<Predictor>> Predictor::Load(const std::string& dir, const QuantizeOptions& quantize) {
  auto package = LoadModelPackage(dir);
  if (!package.ok()) return package.status();
  std::unique_ptr<Predictor> p(new Predictor());
  p->package_ = *package;
  auto task = ParseTaskKind(package->task);  // checked by the package's parser
  // Texts are classified into the label map (one label, or a set), their
  // words tagged with it, or a number predicted; a masked LM does none.
  if (!task.ok() || Task(*task).label == LabelKind::kMaskedTokens) {
    return Status::Error(dir + "/model.json: a " + package->task +
                         " model, which does not classify texts; fine-tune it first (model.init: " + dir + ")");
  }
  p->label_ = Task(*task).label;
  if (p->tags_words() && HasSpans(package->tag_scheme)) p->span_tags_ = SpanTags::FromLabels(package->labels);
  auto tokenizer = Tokenizer::Load(dir + "/" + package->tokenizer_file, package->tokenizer_ids);
  if (!tokenizer.ok()) return tokenizer.status();
  if ((*tokenizer)->vocab_size() != package->vocab) {
    return Status::Error(dir + "/model.json: model.vocab " + std::to_string(package->vocab) + " but " +
                         package->tokenizer_file + " has " + std::to_string((*tokenizer)->vocab_size()) + " pieces");
  }
  p->tokenizer_ = std::move(*tokenizer);
  p->model_ = EncoderClassifier(PackageShape(*package));
  const std::string weights = dir + "/" + package->weights_file;
  PS_RETURN_IF_ERROR(LoadModelWeights(p->model_, weights));
  p->model_->eval();
  if (quantize.int8) {
    auto quantized = p->model_->QuantizeInt8(quantize.min_inputs);
    if (!quantized.ok()) return quantized.status();
    p->int8_layers_ = *quantized;
  }
  return p;
}

Status Predictor::EncodeRow(const std::vector<std::string>& texts, const std::vector<std::string>& pairs, size_t i,
                           std::vector<int>* ids, size_t* second) const {
  const auto max_ids = static_cast<size_t>(package_.max_length);
  if (package_.text_pair_field.empty()) {
    PS_RETURN_IF_ERROR(tokenizer_->Encode(texts[i], max_ids, ids));
  } else {
    PS_RETURN_IF_ERROR(tokenizer_->EncodePair(texts[i], pairs[i], max_ids, ids, second));
  }
  if (ids->empty()) ids->push_back(tokenizer_->unk_id());  // as the shards encode an empty text
  return Status::Ok();
}

torch::Tensor Predictor::Values(const torch::Tensor& ids, const torch::Tensor& pad, const torch::Tensor& types) {
  torch::NoGradGuard no_grad;
  return model_->forward(ids, pad, types).reshape({-1}).contiguous();
}

torch::Tensor Predictor::LabelProbabilities(const torch::Tensor& ids, const torch::Tensor& pad,
                                            const torch::Tensor& types) {
  torch::NoGradGuard no_grad;
  return torch::sigmoid(model_->forward(ids, pad, types)).to(torch::kFloat).contiguous();
}

std::vector<int> Predictor::Labels(const torch::Tensor& ids, const torch::Tensor& pad, const torch::Tensor& types) {
  torch::NoGradGuard no_grad;
  const torch::Tensor best = model_->forward(ids, pad, types).argmax(1).contiguous();
  const auto* p = best.data_ptr<int64_t>();
  return std::vector<int>(p, p + best.numel());
}

StatusOr<std::vector<Prediction>> Predictor::Classify(const std::vector<std::string>& texts,
                                                      const std::vector<std::string>& pairs) {
  if (tags_words()) return Status::Error("a token_classification model tags words; it does not classify whole texts");
  std::vector<Prediction> out;
  if (texts.empty()) return out;
  if (!package_.text_pair_field.empty() && pairs.size() != texts.size()) {
    return Status::Error("a text-pair model (" + package_.text_pair_field + "): " + std::to_string(pairs.size()) +
                         " second texts for " + std::to_string(texts.size()) + " texts");
  }
  // The batch as the ranks build theirs (MakeBatch): padding, and the token types of pairs.
  TokenizedSplit rows;
  std::vector<int64_t> indices;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int> ids;
    size_t second = 0;
    PS_RETURN_IF_ERROR(EncodeRow(texts, pairs, i, &ids, &second));
    rows.Add(ids, 0, 0, static_cast<uint32_t>(second));
    indices.push_back(static_cast<int64_t>(i));
  }
  const Batch batch = MakeBatch(rows, indices, std::max(0, tokenizer_->pad_id()), package_.max_length);
  torch::NoGradGuard no_grad;
  if (regresses()) {
    const auto values = Values(batch.ids, batch.pad, batch.types).to(torch::kFloat).contiguous();
    const auto values_a = values.accessor<float, 1>();
    for (int64_t r = 0; r < values.size(0); ++r) {
      Prediction p;
      p.value = values_a[r];
      const ExampleView row = rows.Get(r);
      p.ids.assign(row.tokens, row.tokens + row.length);
      out.push_back(std::move(p));
    }
    return out;
  }
  const bool sets = multi_label();
  auto probs = sets ? LabelProbabilities(batch.ids, batch.pad, batch.types)
                            : torch::softmax(model_->forward(batch.ids, batch.pad, batch.types), 1).contiguous();
  auto probs_a = probs.accessor<float, 2>();
  const int64_t classes = probs.size(1);
  for (int64_t r = 0; r < probs.size(0); ++r) {
    Prediction p;
    const ExampleView row = rows.Get(r);
    p.ids.assign(row.tokens, row.tokens + row.length);
    for (int64_t c = 0; c < classes; ++c) {
      p.probs.push_back(probs_a[r][c]);
      if (probs_a[r][c] > p.probs[static_cast<size_t>(p.label)]) p.label = static_cast<int>(c);
      if (sets && probs_a[r][c] >= package_.threshold) p.labels.push_back(static_cast<int>(c));
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace polysweep
