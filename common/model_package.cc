#include "common/model_package.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/json_fields.h"

namespace polysweep {

std::string ModelPackageToJson(const ModelPackage& p) {
  nlohmann::json j;
  j["format"] = ModelPackage::kFormat;
  j["version"] = ModelPackage::kVersion;
  j["model"] = {{"vocab", p.vocab}, {"layers", p.layers}, {"hidden", p.hidden}, {"heads", p.heads},
                {"ffn", p.ffn},     {"max_length", p.max_length}, {"task", p.task}};
  if (p.word_features > 0) {
    j["model"]["word_features"] = p.word_features;
    j["model"]["word_feature_width"] = p.word_feature_width > 0 ? p.word_feature_width : kWordFeatures;
  }
  if (p.lora_rank > 0) {
    j["model"]["lora"] = {{"rank", p.lora_rank}, {"alpha", p.lora_alpha}, {"targets", p.lora_targets}};
  }
  if (!p.hf_config_file.empty()) j["model"]["hf"] = {{"config", p.hf_config_file}, {"pooler", p.hf_pooler}};
  j["labels"] = p.labels;
  j["languages"] = p.languages;
  if (!p.text_pair_field.empty()) j["text_pair_field"] = p.text_pair_field;
  if (p.tag_scheme != TagScheme::kAuto) j["tag_scheme"] = TagSchemeName(p.tag_scheme);
  if (p.task == ModelPackage::kMultiLabel) j["threshold"] = p.threshold;
  j["weights"] = p.weights_file;
  j["tokenizer"] = p.tokenizer_file;
  j["tokenizer_hash"] = p.tokenizer_hash;
  j["tokenizer_ids"] = TokenIdsName(p.tokenizer_ids);
  j["source"] = {{"sweep", p.sweep}, {"trial", p.trial}, {"step", p.step}, {"hparams", p.hparams},
                 {"metric", p.metric}, {"metric_value", p.metric_value}};
  return j.dump(2) + "\n";
}

StatusOr<ModelPackage> ParseModelPackage(const std::string& json, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Error(where + ": not a JSON object");
  if (j.value("format", "") != ModelPackage::kFormat) {
    return Status::Error(where + ": format: expected \"" + std::string(ModelPackage::kFormat) +
                         "\" (is this a polysweep model directory?)");
  }
  ModelPackage p;
  std::string field;
  try {
    field = "version";
    if (JsonInt<int>(j, "version") > ModelPackage::kVersion) {
      return Status::Error(where + ": version " + j["version"].dump() + " is newer than this polysweep reads (" +
                           std::to_string(ModelPackage::kVersion) + ")");
    }
    const auto& m = j.at("model");
    for (auto [key, out] : {std::pair{"vocab", &p.vocab}, std::pair{"layers", &p.layers},
                            std::pair{"hidden", &p.hidden}, std::pair{"heads", &p.heads}, std::pair{"ffn", &p.ffn},
                            std::pair{"max_length", &p.max_length}}) {
      field = std::string("model.") + key;
      *out = JsonInt<int>(m, key);
      if (*out <= 0) return Status::Error(where + ": " + field + ": must be positive");
    }
    field = "model.task";
    p.task = m.value("task", std::string(ModelPackage::kSequenceClassification));
    auto task = ParseTaskKind(p.task);
    if (!task.ok()) return task.status().With(where + ": model.task");
    field = "model.word_features";
    p.word_features = m.contains("word_features") ? JsonInt<int>(m, "word_features") : 0;
    if (p.word_features < 0) return Status::Error(where + ": model.word_features: must not be negative");
    field = "model.word_feature_width";
    p.word_feature_width = p.word_features == 0                  ? 0
                           : m.contains("word_feature_width") ? JsonInt<int>(m, "word_feature_width")
                                                              : kOwnWordFeatures;
    if (p.word_features > 0 && (p.word_feature_width < 1 || p.word_feature_width > kWordFeatures)) {
      return Status::Error(where + ": model.word_feature_width: must be 1 to " + std::to_string(kWordFeatures) +
                           " (the word features this polysweep computes)");
    }
    if (m.contains("lora")) {
      field = "model.lora";
      const auto& lora = m.at("lora");
      p.lora_rank = JsonInt<int>(lora, "rank");
      p.lora_alpha = lora.at("alpha").get<double>();
      p.lora_targets = lora.at("targets").get<std::string>();
      if (p.lora_rank <= 0) return Status::Error(where + ": model.lora.rank: must be positive");
    }
    if (m.contains("hf")) {
      field = "model.hf";
      p.hf_config_file = m.at("hf").at("config").get<std::string>();
      p.hf_pooler = m.at("hf").at("pooler").get<bool>();
    }
    field = "labels";
    p.labels = j.at("labels").get<std::vector<std::string>>();
    if (p.labels.size() < 2 && HasLabelMap(Task(*task).label)) {
      return Status::Error(where + ": labels: a classifier needs at least 2");
    }
    field = "languages";
    p.languages = j.at("languages").get<std::vector<std::string>>();
    field = "text_pair_field";
    p.text_pair_field = j.value("text_pair_field", std::string());
    field = "tag_scheme";
    if (j.contains("tag_scheme")) {
      auto scheme = ParseTagScheme(j.at("tag_scheme").get<std::string>());
      if (!scheme.ok()) return Status::Error(where + ": tag_scheme: " + scheme.status().message());
      p.tag_scheme = *scheme;
    }
    field = "threshold";
    p.threshold = j.value("threshold", 0.5);
    if (!(p.threshold > 0 && p.threshold < 1)) return Status::Error(where + ": threshold: must be in (0, 1)");
    field = "weights";
    p.weights_file = j.at("weights").get<std::string>();
    field = "tokenizer";
    p.tokenizer_file = j.at("tokenizer").get<std::string>();
    p.tokenizer_hash = j.value("tokenizer_hash", "");
    field = "tokenizer_ids";
    auto ids = ParseTokenIds(j.value("tokenizer_ids", std::string(TokenIdsName(TokenIds::kSentencePiece))));
    if (!ids.ok()) return ids.status().With(where + ": tokenizer_ids");
    p.tokenizer_ids = *ids;
    field = "source";
    const auto& s = j.at("source");
    p.sweep = s.value("sweep", "");
    p.trial = s.contains("trial") ? JsonInt<uint64_t>(s, "trial") : 0;
    p.step = s.contains("step") ? JsonInt<int64_t>(s, "step") : 0;
    p.hparams = s.value("hparams", std::map<std::string, std::string>{});
    p.metric = s.value("metric", "");
    p.metric_value = s.value("metric_value", 0.0);
  } catch (const std::exception& e) {
    return Status::Error(where + ": " + field + ": missing or malformed (" + e.what() + ")");
  }
  return p;
}

StatusOr<ModelPackage> LoadModelPackage(const std::string& dir) {
  const std::string path = dir + "/model.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open (a model directory is what a sweep writes to <output_dir>/model)");
  std::stringstream ss;
  ss << in.rdbuf();
  auto p = ParseModelPackage(ss.str(), path);
  if (!p.ok()) return p.status();
  std::vector<std::string> files = {p->weights_file, p->tokenizer_file};
  if (!p->hf_config_file.empty()) files.push_back(p->hf_config_file);
  for (const std::string& f : files) {
    if (f.empty() || f.find('/') != std::string::npos) return Status::Error(path + ": file names must be plain names, got \"" + f + "\"");
    if (!std::filesystem::is_regular_file(dir + "/" + f)) return Status::Error(path + ": names " + f + ", which is missing from " + dir);
  }
  if (!p->hf_config_file.empty()) {
    auto hf = ReadHfModelConfigFile(dir + "/" + p->hf_config_file);
    if (!hf.ok()) return hf.status();
    if (hf->vocab != p->vocab || hf->layers != p->layers || hf->hidden != p->hidden) {
      return Status::DataError(path + ": model does not match its base's " + p->hf_config_file);
    }
    p->hf = *hf;
  }
  return p;
}

}  // namespace polysweep
