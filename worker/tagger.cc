// Predictor's token classification (predictor.h): words tagged as the
// shards align them.
#include <algorithm>

#include "common/example.h"
#include "common/word_features.h"
#include "tokenizer/words.h"
#include "worker/batching.h"
#include "worker/dataset.h"
#include "worker/predictor.h"

namespace polysweep {

torch::Tensor Predictor::TokenTags(const torch::Tensor& ids, const torch::Tensor& pad, const torch::Tensor& types,
                                   const torch::Tensor& features, torch::Tensor* probs) {
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = model_->forward(ids, pad, types, features);
  if (!probs) return logits.argmax(-1).contiguous();
  auto [best, index] = torch::softmax(logits, -1).max(-1);
  *probs = best.contiguous();
  return index.contiguous();
}

StatusOr<std::vector<Tagging>> Predictor::Tag(const std::vector<std::vector<std::string>>& sentences,
                                              const std::vector<std::string>& langs) {
  if (!tags_words()) return Status::Error("a " + package_.task + " model does not tag words");
  std::vector<Tagging> out(sentences.size());
  if (sentences.empty()) return out;
  TokenizedSplit rows;
  std::vector<WordPieces> pieces(sentences.size());
  std::vector<int64_t> indices;
  for (size_t i = 0; i < sentences.size(); ++i) {
    if (sentences[i].empty()) return Status::Error("sentence " + std::to_string(i + 1) + " has no words");
    for (size_t w = 0; w < sentences[i].size(); ++w) PS_RETURN_IF_ERROR(CheckWord(sentences[i][w], w + 1));
    PS_RETURN_IF_ERROR(EncodeWords(*tokenizer_, sentences[i], static_cast<size_t>(package_.max_length), &pieces[i]));
    if (pieces[i].ids.empty()) {  // as the shards encode a sentence with no piece
      pieces[i].ids.push_back(tokenizer_->unk_id());
      pieces[i].word.push_back(kNoWord);
      pieces[i].first.push_back(false);
    }
    rows.AddTagged(pieces[i].ids, {}, 0, PieceWordFeatures(sentences[i], pieces[i].word, i < langs.size() ? langs[i] : ""));
    indices.push_back(static_cast<int64_t>(i));
  }
  const Batch batch = MakeBatch(rows, indices, std::max(0, tokenizer_->pad_id()), package_.max_length);
  torch::Tensor probs;
  const torch::Tensor tags = TokenTags(batch.ids, batch.pad, batch.types, batch.features, &probs);
  auto tags_a = tags.accessor<int64_t, 2>();
  auto probs_a = probs.accessor<float, 2>();
  for (size_t i = 0; i < sentences.size(); ++i) {
    Tagging& t = out[i];
    t.words.assign(sentences[i].size(), WordTag{});
    std::vector<int> word_tags(sentences[i].size(), -1);
    const WordPieces& p = pieces[i];
    for (size_t k = 0; k < p.ids.size() && static_cast<int64_t>(k) < tags.size(1); ++k) {
      if (!p.first[k]) continue;
      const auto w = static_cast<size_t>(p.word[k]);
      const auto r = static_cast<int64_t>(i), c = static_cast<int64_t>(k);
      t.words[w] = WordTag{static_cast<int>(tags_a[r][c]), probs_a[r][c]};
      word_tags[w] = t.words[w].tag;
    }
    if (!span_tags_.types.empty()) t.entities = ExtractSpans(word_tags, span_tags_);
  }
  return out;
}

}  // namespace polysweep
