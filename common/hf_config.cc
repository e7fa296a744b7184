#include "common/hf_config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace polysweep {

namespace {

using Json = nlohmann::json;

// The keys one family spells its architecture with.
struct FamilyKeys {
  HfFamily family;
  const char* model_type;
  const char* hidden;
  const char* layers;
  const char* heads;
  const char* ffn;
  const char* activation;
  const char* hidden_dropout;
  const char* attention_dropout;
  const char* classifier_dropout;
};

constexpr FamilyKeys kFamilies[] = {
    {HfFamily::kBert, "bert", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
     "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"},
    {HfFamily::kDistilBert, "distilbert", "dim", "n_layers", "n_heads", "hidden_dim", "activation", "dropout",
     "attention_dropout", "seq_classif_dropout"},
    {HfFamily::kRoberta, "roberta", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
     "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"},
    {HfFamily::kXlmRoberta, "xlm-roberta", "hidden_size", "num_hidden_layers", "num_attention_heads",
     "intermediate_size", "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"},
};

class Reader {
 public:
  Reader(const Json& j, std::string path) : j_(j), path_(std::move(path)) {}

  Status Int(const char* key, int* out, int min, int max, bool required = true) const {
    if (!j_.contains(key) || j_[key].is_null()) {
      return required ? Error(key, "missing: the checkpoint must say it") : Status::Ok();
    }
    if (!j_[key].is_number_integer() || j_[key].get<int64_t>() < min || j_[key].get<int64_t>() > max) {
      return Error(key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                            j_[key].dump());
    }
    *out = j_[key].get<int>();
    return Status::Ok();
  }
  Status Real(const char* key, double* out, double min, double max) const {
    if (!j_.contains(key) || j_[key].is_null()) return Status::Ok();  // the family's default stays
    if (!j_[key].is_number() || j_[key].get<double>() < min || j_[key].get<double>() > max) {
      return Error(key, "expected a number in [" + Format(min) + ", " + Format(max) + "], got " + j_[key].dump());
    }
    *out = j_[key].get<double>();
    return Status::Ok();
  }
  Status Error(const std::string& key, const std::string& what) const {
    return Status::InvalidConfig(path_ + ": " + key + ": " + what);
  }

 private:
  static std::string Format(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  }
  const Json& j_;
  std::string path_;
};

Status ReadActivation(const Json& j, const Reader& r, const char* key, Activation* out) {
  if (!j.contains(key)) return Status::Ok();  // gelu, every family's default
  const std::string name = j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
  if (name == "gelu") *out = Activation::kGelu;
  else if (name == "gelu_new" || name == "gelu_pytorch_tanh") *out = Activation::kGeluTanh;
  else if (name == "relu") *out = Activation::kRelu;
  else return r.Error(key, "activation \"" + name + "\" is not one polysweep computes (gelu, gelu_new, relu)");
  return Status::Ok();
}

Status ReadDims(const Json& j, const Reader& r, const FamilyKeys& keys, HfModelConfig* c) {
  PS_RETURN_IF_ERROR(r.Int("vocab_size", &c->vocab, 1, 10000000));
  PS_RETURN_IF_ERROR(r.Int(keys.hidden, &c->hidden, 1, 65536));
  PS_RETURN_IF_ERROR(r.Int(keys.layers, &c->layers, 1, 1000));
  PS_RETURN_IF_ERROR(r.Int(keys.heads, &c->heads, 1, 1024));
  PS_RETURN_IF_ERROR(r.Int(keys.ffn, &c->ffn, 1, 1 << 20));
  PS_RETURN_IF_ERROR(r.Int("max_position_embeddings", &c->max_positions, 1, 1 << 20));
  c->pad_token_id = c->padding_offset_positions() ? 1 : 0;
  PS_RETURN_IF_ERROR(r.Int("pad_token_id", &c->pad_token_id, 0, c->vocab - 1, /*required=*/false));
  if (c->family != HfFamily::kDistilBert) {
    c->type_vocab = 2;
    PS_RETURN_IF_ERROR(r.Int("type_vocab_size", &c->type_vocab, 0, 1 << 16, /*required=*/false));
  }
  if (c->hidden % c->heads != 0) {
    return r.Error(keys.heads, std::to_string(c->heads) + " heads do not divide " + keys.hidden + " " +
                                   std::to_string(c->hidden));
  }
  if (c->max_length() < 2) return r.Error("max_position_embeddings", "leaves no room for a token");
  return Status::Ok();
}

Status ReadRest(const Json& j, const Reader& r, const FamilyKeys& keys, HfModelConfig* c) {
  PS_RETURN_IF_ERROR(ReadActivation(j, r, keys.activation, &c->activation));
  // BERT's default; DistilBERT's layers use 1e-12 and its config has no key for it.
  c->layer_norm_eps = 1e-12;
  PS_RETURN_IF_ERROR(r.Real("layer_norm_eps", &c->layer_norm_eps, 0, 1));
  PS_RETURN_IF_ERROR(r.Real(keys.hidden_dropout, &c->hidden_dropout, 0, 1));
  PS_RETURN_IF_ERROR(r.Real(keys.attention_dropout, &c->attention_dropout, 0, 1));
  PS_RETURN_IF_ERROR(r.Real(keys.classifier_dropout, &c->classifier_dropout, 0, 1));
  if (j.contains("position_embedding_type") && j["position_embedding_type"] != "absolute") {
    return r.Error("position_embedding_type", "only absolute positions are computed, not " +
                                                  j["position_embedding_type"].dump());
  }
  if (j.contains("sinusoidal_pos_embds") && j["sinusoidal_pos_embds"] == true) {
    return r.Error("sinusoidal_pos_embds", "sinusoidal position embeddings are not computed; only learned ones");
  }
  return Status::Ok();
}

}  // namespace

const char* HfFamilyName(HfFamily family) {
  for (const FamilyKeys& k : kFamilies) {
    if (k.family == family) return k.model_type;
  }
  return "?";
}

bool IsHfModelDir(const std::string& dir) { return std::filesystem::is_regular_file(dir + "/config.json"); }

StatusOr<HfModelConfig> ReadHfModelConfig(const std::string& dir) { return ReadHfModelConfigFile(dir + "/config.json"); }

StatusOr<HfModelConfig> ReadHfModelConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  const Json j = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidConfig(path + ": not a JSON object");
  const Reader r(j, path);
  if (!j.contains("model_type") || !j["model_type"].is_string()) {
    return r.Error("model_type", "missing: bert, distilbert, roberta or xlm-roberta");
  }
  const std::string type = j["model_type"].get<std::string>();
  const FamilyKeys* keys = nullptr;
  for (const FamilyKeys& k : kFamilies) {
    if (type == k.model_type) keys = &k;
  }
  if (keys == nullptr) {
    return r.Error("model_type", "\"" + type + "\" is not an encoder polysweep fine-tunes (bert, distilbert, "
                                               "roberta, xlm-roberta)");
  }
  HfModelConfig c;
  c.path = path;
  c.family = keys->family;
  PS_RETURN_IF_ERROR(ReadDims(j, r, *keys, &c));
  PS_RETURN_IF_ERROR(ReadRest(j, r, *keys, &c));
  return c;
}

}  // namespace polysweep
