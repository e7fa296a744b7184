#include "worker/hf_export.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/hf_checkpoint.h"
#include "common/model_package.h"
#include "common/safetensors.h"
#include "common/tasks.h"
#include "tokenizer/byte_bpe.h"
#include "tokenizer/wordpiece.h"
#include "worker/model.h"
#include "worker/model_shape.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// What a family's ...ForSequenceClassification calls its parts.
struct HfClassifierNames {
  const char* architecture;
  const char* prefix;      // the encoder's tensors
  const char* dense;       // the head's dense layer (BERT: its pooler)
  const char* projection;  // the head's projection to the classes
  const char* tokenizer_class;
};

HfClassifierNames NamesOf(HfFamily family) {
  switch (family) {
    case HfFamily::kBert:
      return {"BertForSequenceClassification", "bert.", "bert.pooler.dense", "classifier", "BertTokenizer"};
    case HfFamily::kDistilBert:
      return {"DistilBertForSequenceClassification", "distilbert.", "pre_classifier", "classifier",
              "DistilBertTokenizer"};
    case HfFamily::kRoberta:
      return {"RobertaForSequenceClassification", "roberta.", "classifier.dense", "classifier.out_proj",
              "RobertaTokenizer"};
    case HfFamily::kXlmRoberta: break;
  }
  return {"XLMRobertaForSequenceClassification", "roberta.", "classifier.dense", "classifier.out_proj",
          "XLMRobertaTokenizer"};
}

SafeTensorData Tensor(const std::string& name, const torch::Tensor& t) {
  auto c = t.detach().to(torch::kFloat32).contiguous();
  std::vector<int64_t> shape(c.sizes().begin(), c.sizes().end());
  std::string bytes(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * sizeof(float));
  return {name, SafeDType::kF32, std::move(shape), std::move(bytes)};
}

// The model's parameters, each LoRA adapter merged into its layer:
// W + (alpha / r) B A.
std::map<std::string, torch::Tensor> MergedParameters(EncoderClassifier& model, const ModelPackage& p) {
  std::map<std::string, torch::Tensor> params;
  for (const auto& item : model->named_parameters()) params[item.key()] = item.value().detach();
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, value] : params) {
    if (name.find("_lora.") != std::string::npos) continue;
    out[name] = value;
  }
  for (const auto& [name, value] : params) {
    const size_t at = name.find("_lora.a");
    if (at == std::string::npos) continue;
    const std::string layer = name.substr(0, at);  // layers.i.qkv
    const torch::Tensor& b = params.at(layer + "_lora.b");
    out[layer + ".weight"] = out.at(layer + ".weight") + torch::matmul(b, value) * (p.lora_alpha / p.lora_rank);
  }
  return out;
}

StatusOr<std::vector<SafeTensorData>> HfTensors(EncoderClassifier& model, const ModelPackage& p) {
  const HfModelConfig& config = *p.hf;
  const HfClassifierNames names = NamesOf(config.family);
  const std::map<std::string, torch::Tensor> params = MergedParameters(model, p);
  std::vector<SafeTensorData> out;
  for (const HfWeightSource& source : HfWeightSources(config, HfLayout{names.prefix, false})) {
    auto it = params.find(source.parameter);
    if (it == params.end()) return Status::Error("the model has no parameter " + source.parameter);
    const auto parts = it->second.chunk(static_cast<int64_t>(source.tensors.size()), 0);
    for (size_t k = 0; k < source.tensors.size(); ++k) out.push_back(Tensor(source.tensors[k], parts[k]));
  }
  for (const auto& [ours, theirs] : {std::pair{"head.dense.", names.dense}, std::pair{"head.", names.projection}}) {
    for (const char* leaf : {"weight", "bias"}) {
      auto it = params.find(std::string(ours) + leaf);
      if (it == params.end()) return Status::Error(std::string("the model has no parameter ") + ours + leaf);
      out.push_back(Tensor(std::string(theirs) + "." + leaf, it->second));
    }
  }
  return out;
}

StatusOr<std::string> HfConfigJson(const std::string& model_dir, const ModelPackage& p) {
  auto text = ReadFile(model_dir + "/" + p.hf_config_file);
  if (!text.ok()) return text.status();
  Json j = Json::parse(*text, nullptr, false);
  if (!j.is_object()) return Status::DataError(model_dir + "/" + p.hf_config_file + ": not a JSON object");
  j["architectures"] = Json::array({NamesOf(p.hf->family).architecture});
  // A regression's one output is named as Hugging Face names an unnamed label.
  const TaskKind task = ParseTaskKind(p.task).value();  // checked by ExportHfModel
  const std::vector<std::string> labels = task == TaskKind::kRegression ? std::vector<std::string>{"LABEL_0"} : p.labels;
  Json id2label = Json::object(), label2id = Json::object();
  for (size_t i = 0; i < labels.size(); ++i) {
    id2label[std::to_string(i)] = labels[i];
    label2id[labels[i]] = i;
  }
  j["id2label"] = id2label;
  j["label2id"] = label2id;
  j["problem_type"] = task == TaskKind::kRegression   ? "regression"
                      : task == TaskKind::kMultiLabel ? "multi_label_classification"
                                                      : "single_label_classification";
  return j.dump(2) + "\n";
}

// The tokenizer files the family's tokenizer class reads.
Status WriteTokenizer(const std::string& model_dir, const ModelPackage& p, const std::string& tmp) {
  const std::string from = model_dir + "/" + p.tokenizer_file;
  Json config = {{"tokenizer_class", NamesOf(p.hf->family).tokenizer_class},
                 {"model_max_length", p.hf->max_length()}};
  if (p.tokenizer_ids == TokenIds::kWordPiece) {
    auto spec = ReadWordPieceSpec(from);
    if (!spec.ok()) return spec.status();
    std::string vocab;
    for (const std::string& t : spec->vocab) vocab += t + "\n";
    PS_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/vocab.txt", vocab));
    PS_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/tokenizer.json", WordPieceTokenizerJson(*spec)));
    config["do_lower_case"] = spec->lowercase;
    config["strip_accents"] = spec->strip_accents < 0 ? Json() : Json(spec->strip_accents == 1);
    config["tokenize_chinese_chars"] = spec->handle_chinese_chars;
    config["unk_token"] = spec->unk_token;
    config["cls_token"] = spec->cls_token;
    config["sep_token"] = spec->sep_token;
    if (!spec->pad_token.empty()) config["pad_token"] = spec->pad_token;
  } else if (p.tokenizer_ids == TokenIds::kByteBpe) {
    auto spec = ReadByteBpeSpec(from);
    if (!spec.ok()) return spec.status();
    Json vocab = Json::object();
    for (size_t i = 0; i < spec->vocab.size(); ++i) vocab[spec->vocab[i]] = i;
    std::string merges = "#version: 0.2\n";
    for (const auto& [a, b] : spec->merges) merges += a + " " + b + "\n";
    PS_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/vocab.json", vocab.dump() + "\n"));
    PS_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/merges.txt", merges));
    PS_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/tokenizer.json", ByteBpeTokenizerJson(*spec)));
    config["add_prefix_space"] = spec->add_prefix_space;
  } else if (p.tokenizer_ids == TokenIds::kFairseq) {
    std::error_code ec;
    fs::copy_file(from, tmp + "/sentencepiece.bpe.model", fs::copy_options::overwrite_existing, ec);
    if (ec) return Status::Error(from + ": cannot copy: " + ec.message());
  } else {
    return Status::Error(model_dir + "/model.json: its tokenizer (" + std::string(TokenIdsName(p.tokenizer_ids)) +
                         ") is not one a Hugging Face tokenizer class reads");
  }
  return WriteFileAtomic(tmp + "/tokenizer_config.json", config.dump(2) + "\n");
}

}  // namespace

Status ExportHfModel(const std::string& model_dir, const std::string& out_dir) {
  auto package = LoadModelPackage(model_dir);
  if (!package.ok()) return package.status();
  const ModelPackage& p = *package;
  if (!p.hf) {
    return Status::InvalidConfig(model_dir + "/model.json: not fine-tuned from a Hugging Face checkpoint (its "
                                 "architecture is polysweep's own); --format hf writes those that were");
  }
  auto task = ParseTaskKind(p.task);
  if (!task.ok() || Task(*task).per_token || Task(*task).label == LabelKind::kMaskedTokens) {
    return Status::InvalidConfig(model_dir + "/model.json: a " + p.task +
                                 " model; --format hf writes sequence classifiers (single- and multi-label) and "
                                 "regression models");
  }
  EncoderClassifier model(PackageShape(p));
  PS_RETURN_IF_ERROR(LoadModelWeights(model, model_dir + "/" + p.weights_file));
  auto tensors = HfTensors(model, p);
  if (!tensors.ok()) return tensors.status().With(model_dir);
  auto config = HfConfigJson(model_dir, p);
  if (!config.ok()) return config.status();

  const std::string tmp = out_dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Status::Error(tmp + ": cannot create: " + ec.message());
  Status written = WriteSafetensors(tmp + "/model.safetensors", *tensors, {{"format", "pt"}});
  if (written.ok()) written = WriteFileAtomic(tmp + "/config.json", *config);
  if (written.ok()) written = WriteTokenizer(model_dir, p, tmp);
  if (written.ok()) {
    fs::remove_all(out_dir, ec);
    fs::rename(tmp, out_dir, ec);
    if (ec) written = Status::Error(out_dir + ": cannot move into place: " + ec.message());
  }
  if (!written.ok()) fs::remove_all(tmp, ec);
  return written;
}

}  // namespace polysweep
