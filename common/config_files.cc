// What of the sweep config needs the disk: the data files and a tokenizer
// exist, and a model directory named by model.init has the configured
// architecture (its tokenizer then encodes the data). Kept out of the
// parser, so a journaled config parses wherever its files are.
#include <algorithm>
#include <filesystem>
#include <tuple>

#include "common/config.h"
#include "common/hf_checkpoint.h"
#include "common/hf_config.h"
#include "common/model_package.h"

namespace polysweep {
namespace {

// "FILE:LINE: key: what", the line being where the parser read `key`.
Status Error(const SweepConfig& c, const std::string& key, const std::string& what) {
  auto it = c.lines.find(key);
  const std::string line = it != c.lines.end() && it->second > 0 ? ":" + std::to_string(it->second) : "";
  return Status::InvalidConfig(c.source_path + line + ": " + key + ": " + what);
}

// freeze_layers, set or searched, within the layers model.init decided.
Status CheckFreezeLayers(const SweepConfig& c) {
  const std::string most = " is more than the " + std::to_string(c.model.layers) + " layers of " + c.model.init;
  if (c.training.freeze_layers > c.model.layers) {
    return Error(c, "training.freeze_layers", std::to_string(c.training.freeze_layers) + most);
  }
  for (const ParamSpec& p : c.search.space.params) {
    if (p.name != "freeze_layers") continue;
    double high = p.kind == ParamKind::kChoice ? 0 : p.high;
    for (const ParamValue& v : p.choices) high = std::max(high, v.number);
    if (high > c.model.layers) return Error(c, "search.space.freeze_layers", ParamValue::Number(high).ToString() + most);
  }
  return Status::Ok();
}

// Why a Hugging Face directory of `family` cannot encode the data yet.
// The tokenizer file of a Hugging Face directory polysweep encodes with, and
// how its ids are numbered; an empty path and the reason when there is none
// it reads.
struct HfTokenizer {
  std::string path;
  TokenIds ids = TokenIds::kSentencePiece;
  std::string missing;
};

HfTokenizer FindHfTokenizer(const std::string& dir, HfFamily family) {
  auto has = [&](const char* file) { return std::filesystem::is_regular_file(dir + "/" + file); };
  switch (family) {
    case HfFamily::kXlmRoberta:
      if (has("sentencepiece.bpe.model")) return {dir + "/sentencepiece.bpe.model", TokenIds::kFairseq, ""};
      return {"", TokenIds::kFairseq, "it has no sentencepiece.bpe.model"};
    case HfFamily::kRoberta:
      if (has("tokenizer.json")) return {dir + "/tokenizer.json", TokenIds::kByteBpe, ""};
      if (has("vocab.json") && has("merges.txt")) return {dir + "/vocab.json", TokenIds::kByteBpe, ""};
      return {"", TokenIds::kByteBpe, "it has neither tokenizer.json nor vocab.json and merges.txt"};
    case HfFamily::kBert:
    case HfFamily::kDistilBert: break;
  }
  if (has("tokenizer.json")) return {dir + "/tokenizer.json", TokenIds::kWordPiece, ""};
  if (has("vocab.txt")) return {dir + "/vocab.txt", TokenIds::kWordPiece, ""};
  return {"", TokenIds::kWordPiece, "it has neither tokenizer.json nor vocab.txt"};
}

// model.init naming a Hugging Face model directory: its config.json decides
// the architecture (model.layers and the like are refused), every tensor of
// its weights is checked now, before a trial starts, and its tokenizer
// encodes the data: WordPiece for BERT and DistilBERT (tokenizer.json, or
// vocab.txt + tokenizer_config.json), byte-level BPE for RoBERTa
// (tokenizer.json, or vocab.json + merges.txt), XLM-R's SentencePiece model.
Status CheckHfInit(SweepConfig* c) {
  const std::string& dir = c->model.init;
  for (const char* key : {"model.layers", "model.hidden", "model.heads", "model.ffn"}) {
    if (c->lines.count(key)) {
      return Error(*c, key, std::string("the checkpoint decides it (") + dir + "/config.json); remove " + key);
    }
  }
  auto opened = OpenHfCheckpoint(dir);
  if (!opened.ok()) return Error(*c, "model.init", opened.status().message());
  const HfModelConfig* hf = &opened->config;
  if (Status s = CheckHfCheckpoint(*hf, opened->layout, opened->weights); !s.ok()) {
    return Error(*c, "model.init", s.message());
  }
  const HfTokenizer tokenizer = FindHfTokenizer(dir, hf->family);
  if (tokenizer.path.empty()) {
    return Error(*c, "model.init", dir + " is a " + HfFamilyName(hf->family) +
                                       " checkpoint whose weights polysweep reads, but " + tokenizer.missing +
                                       "; a checkpoint fine-tunes with its tokenizer files");
  }
  if (c->lines.count("data.tokenizer")) {
    return Error(*c, "data.tokenizer", "model.init " + dir + " brings its own tokenizer; remove data.tokenizer");
  }
  c->model.layers = hf->layers;
  c->model.hidden = hf->hidden;
  c->model.heads = hf->heads;
  c->model.ffn = hf->ffn;
  if (!c->lines.count("model.max_length")) c->model.max_length = std::min(c->model.max_length, hf->max_length());
  if (c->model.max_length > hf->max_length()) {
    return Error(*c, "model.max_length", std::to_string(c->model.max_length) + " is more than the checkpoint's " +
                                             std::to_string(hf->max_length()) + " positions allow");
  }
  // Dropout is the checkpoint's (its encoder's) unless the config sets or searches it.
  const bool searched = std::any_of(c->search.space.params.begin(), c->search.space.params.end(),
                                    [](const ParamSpec& p) { return p.name == "dropout"; });
  if (!c->lines.count("training.dropout") && !searched) {
    c->training.dropout = hf->hidden_dropout;
  }
  c->data.tokenizer = tokenizer.path;
  c->data.token_ids = tokenizer.ids;
  c->data.checkpoint_vocab = hf->vocab;
  return CheckFreezeLayers(*c);
}

// model.init naming a model directory: its architecture must be the
// configured one, and its tokenizer encodes the data unless data.tokenizer
// names another.
Status CheckInitModel(SweepConfig* c) {
  std::error_code ec;
  if (c->model.init.empty()) return Status::Ok();
  if (!std::filesystem::exists(c->model.init, ec)) {
    return Error(*c, "model.init", "no such file or directory: " + c->model.init);
  }
  if (!std::filesystem::is_directory(c->model.init, ec)) return Status::Ok();  // a TorchScript file
  if (IsHfModelDir(c->model.init)) return CheckHfInit(c);
  auto package = LoadModelPackage(c->model.init);
  if (!package.ok()) return Error(*c, "model.init", package.status().message());
  if (package->hf) {
    return Error(*c, "model.init", c->model.init + " was fine-tuned from a Hugging Face checkpoint; start a new "
                                   "sweep from that checkpoint's directory instead");
  }
  for (auto [key, theirs, ours] : {std::tuple{"layers", package->layers, c->model.layers},
                                   std::tuple{"hidden", package->hidden, c->model.hidden},
                                   std::tuple{"heads", package->heads, c->model.heads},
                                   std::tuple{"ffn", package->ffn, c->model.ffn}}) {
    if (theirs != ours) {
      return Error(*c, "model.init", c->model.init + " has " + key + " " + std::to_string(theirs) + ", model." + key +
                                         " is " + std::to_string(ours) + ": set the same architecture");
    }
  }
  if (package->max_length < c->model.max_length) {
    return Error(*c, "model.init", c->model.init + " has max_length " + std::to_string(package->max_length) +
                                       ", less than model.max_length " + std::to_string(c->model.max_length));
  }
  if (c->data.tokenizer.empty()) c->data.tokenizer = c->model.init + "/" + package->tokenizer_file;
  return CheckFreezeLayers(*c);
}

}  // namespace

Status CheckConfigFiles(SweepConfig* c) {
  std::error_code ec;
  for (const auto& [key, files] : {std::pair{"files", &c->data.files}, std::pair{"train", &c->data.train_files},
                                   std::pair{"valid", &c->data.valid_files}, std::pair{"test", &c->data.test_files}}) {
    for (size_t i = 0; i < files->size(); ++i) {
      if (!std::filesystem::is_regular_file((*files)[i], ec)) {
        return Error(*c, "data." + std::string(key) + "[" + std::to_string(i) + "]", "no such file: " + (*files)[i]);
      }
    }
  }
  if (!c->data.tokenizer.empty() && !std::filesystem::is_regular_file(c->data.tokenizer, ec)) {
    return Error(*c, "data.tokenizer", "no such file: " + c->data.tokenizer);
  }
  PS_RETURN_IF_ERROR(CheckInitModel(c));
  // A family that frames each text ([CLS] ... [SEP], <s> ... </s>) truncates
  // it as it encodes it, to what the model reads, keeping the closing token
  // as Hugging Face's tokenizers and `polysweep predict` do; cut later by
  // the batch, a long text would lose it in training only.
  if (c->data.token_ids != TokenIds::kSentencePiece) c->data.max_tokens = std::min(c->data.max_tokens, c->model.max_length);
  // A pair is truncated when it is encoded, longest text first, to what the model reads.
  if (!c->data.text_pair_field.empty()) c->data.pair_max_tokens = std::min(c->data.max_tokens, c->model.max_length);
  return Status::Ok();
}

}  // namespace polysweep
