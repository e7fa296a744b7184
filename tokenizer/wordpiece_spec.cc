// Reading and writing a WordPiece tokenizer's description: Hugging Face's
// tokenizer.json, or the older vocab.txt + tokenizer_config.json.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "tokenizer/spec_json.h"
#include "tokenizer/wordpiece.h"

namespace polysweep {
namespace {

using Json = SpecJson;

// A special token in tokenizer_config.json: a string, or {"content": ...}.
std::string TokenText(const Json& v, const std::string& fallback) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return fallback;
}

Status ReadNormalizer(const std::string& path, const Json& j, WordPieceSpec* spec) {
  if (!j.contains("normalizer") || j["normalizer"].is_null()) {
    return RefuseKey(path, "normalizer", "missing; a WordPiece tokenizer polysweep reads has BERT's (BertNormalizer)");
  }
  const Json& n = j["normalizer"];
  if (n.value("type", "") != "BertNormalizer") {
    return RefuseKey(path, "normalizer.type", "\"" + n.value("type", "") + "\" is not read; BertNormalizer is");
  }
  spec->clean_text = n.value("clean_text", true);
  spec->handle_chinese_chars = n.value("handle_chinese_chars", true);
  spec->lowercase = n.value("lowercase", true);
  const Json& strip = n.contains("strip_accents") ? n["strip_accents"] : Json();
  spec->strip_accents = strip.is_boolean() ? (strip.get<bool>() ? 1 : 0) : -1;
  return Status::Ok();
}

Status ReadModel(const std::string& path, const Json& j, WordPieceSpec* spec) {
  const Json& m = j.contains("model") ? j["model"] : Json();
  if (!m.is_object() || m.value("type", "") != "WordPiece") {
    return RefuseKey(path, "model.type", "not a WordPiece model");
  }
  PS_RETURN_IF_ERROR(ReadDenseVocab(path, "model.vocab", m.contains("vocab") ? m["vocab"] : Json(), &spec->vocab));
  spec->unk_token = m.value("unk_token", spec->unk_token);
  spec->continuing_prefix = m.value("continuing_subword_prefix", spec->continuing_prefix);
  spec->max_input_chars_per_word = m.value("max_input_chars_per_word", spec->max_input_chars_per_word);
  return Status::Ok();
}

Status ReadAddedTokens(const std::string& path, const Json& j, WordPieceSpec* spec) {
  if (!j.contains("added_tokens")) return Status::Ok();
  size_t i = 0;
  for (const Json& t : j["added_tokens"]) {
    const std::string key = "added_tokens[" + std::to_string(i++) + "]";
    const std::string content = t.value("content", "");
    if (t.value("normalized", false) || t.value("lstrip", false) || t.value("rstrip", false) ||
        t.value("single_word", false)) {
      return RefuseKey(path, key, "\"" + content + "\" is matched after normalizing or with stripping, which "
                                                "polysweep does not read");
    }
    const int64_t id = t.value("id", int64_t{-1});
    if (id < 0 || static_cast<size_t>(id) >= spec->vocab.size() || spec->vocab[static_cast<size_t>(id)] != content) {
      return RefuseKey(path, key, "\"" + content + "\" is not the vocabulary's token " + std::to_string(id));
    }
    spec->special_tokens.push_back(content);
  }
  return Status::Ok();
}

// The [CLS] and [SEP] of the post-processor (BertProcessing, or a
// TemplateProcessing of the form "[CLS] $A [SEP]").
Status ReadPostProcessor(const std::string& path, const Json& j, WordPieceSpec* spec) {
  if (!j.contains("post_processor") || j["post_processor"].is_null()) return Status::Ok();
  const Json& p = j["post_processor"];
  const std::string type = p.value("type", "");
  if (type == "BertProcessing") {
    spec->cls_token = p["cls"][0].get<std::string>();
    spec->sep_token = p["sep"][0].get<std::string>();
    return Status::Ok();
  }
  const Json& single = p.contains("single") ? p["single"] : Json();
  if (type != "TemplateProcessing" || !single.is_array() || single.size() != 3 ||
      !single[0].contains("SpecialToken") || !single[1].contains("Sequence") || !single[2].contains("SpecialToken")) {
    return RefuseKey(path, "post_processor", "polysweep reads BERT's ([CLS] $A [SEP]), not this one");
  }
  spec->cls_token = single[0]["SpecialToken"].value("id", spec->cls_token);
  spec->sep_token = single[2]["SpecialToken"].value("id", spec->sep_token);
  return Status::Ok();
}

StatusOr<WordPieceSpec> ReadTokenizerJson(const std::string& path) {
  auto j = ReadJsonObject(path);
  if (!j.ok()) return j.status();
  WordPieceSpec spec;
  try {
    PS_RETURN_IF_ERROR(ReadModel(path, *j, &spec));
    PS_RETURN_IF_ERROR(ReadNormalizer(path, *j, &spec));
    const Json& pre = j->contains("pre_tokenizer") ? (*j)["pre_tokenizer"] : Json();
    if (!pre.is_object() || pre.value("type", "") != "BertPreTokenizer") {
      return RefuseKey(path, "pre_tokenizer", "polysweep reads BERT's (BertPreTokenizer), not this one");
    }
    PS_RETURN_IF_ERROR(ReadAddedTokens(path, *j, &spec));
    PS_RETURN_IF_ERROR(ReadPostProcessor(path, *j, &spec));
  } catch (const Json::exception& e) {
    return Status::DataError(path + ": " + e.what());
  }
  if (!spec.pad_token.empty() && std::find(spec.vocab.begin(), spec.vocab.end(), spec.pad_token) == spec.vocab.end()) {
    spec.pad_token.clear();
  }
  return spec;
}

StatusOr<WordPieceSpec> ReadVocabTxt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot read");
  WordPieceSpec spec;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    spec.vocab.push_back(line);
  }
  if (spec.vocab.empty()) return Status::DataError(path + ": an empty vocabulary");
  const std::string config = (std::filesystem::path(path).parent_path() / "tokenizer_config.json").string();
  std::string mask = "[MASK]";
  if (std::filesystem::is_regular_file(config)) {
    auto j = ReadJsonObject(config);
    if (!j.ok()) return j.status();
    spec.lowercase = j->value("do_lower_case", true);
    const Json& strip = j->contains("strip_accents") ? (*j)["strip_accents"] : Json();
    spec.strip_accents = strip.is_boolean() ? (strip.get<bool>() ? 1 : 0) : -1;
    spec.handle_chinese_chars = j->value("tokenize_chinese_chars", true);
    auto token = [&](const char* key, const std::string& fallback) {
      return j->contains(key) ? TokenText((*j)[key], fallback) : fallback;
    };
    spec.unk_token = token("unk_token", spec.unk_token);
    spec.cls_token = token("cls_token", spec.cls_token);
    spec.sep_token = token("sep_token", spec.sep_token);
    spec.pad_token = token("pad_token", spec.pad_token);
    mask = token("mask_token", mask);
  }
  // Hugging Face adds the special tokens, matched in the raw text, in this order.
  for (const std::string* t : {&spec.pad_token, &spec.unk_token, &spec.cls_token, &spec.sep_token, &mask}) {
    if (std::find(spec.vocab.begin(), spec.vocab.end(), *t) != spec.vocab.end()) spec.special_tokens.push_back(*t);
  }
  return spec;
}

}  // namespace

StatusOr<WordPieceSpec> ReadWordPieceSpec(const std::string& path) {
  if (std::filesystem::path(path).extension() == ".json") return ReadTokenizerJson(path);
  return ReadVocabTxt(path);
}

std::string WordPieceTokenizerJson(const WordPieceSpec& spec) {
  Json vocab = Json::object();
  for (size_t i = 0; i < spec.vocab.size(); ++i) vocab[spec.vocab[i]] = i;
  auto id_of = [&](const std::string& token) { return vocab.contains(token) ? vocab[token] : Json(); };
  Json added = Json::array();
  for (const std::string& t : spec.special_tokens) {
    added.push_back({{"id", id_of(t)}, {"content", t}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  auto special = [](const std::string& t, int type) { return Json{{"SpecialToken", {{"id", t}, {"type_id", type}}}}; };
  auto sequence = [](const char* s, int type) { return Json{{"Sequence", {{"id", s}, {"type_id", type}}}}; };
  Json specials = Json::object();
  for (const std::string* t : {&spec.cls_token, &spec.sep_token}) {
    specials[*t] = {{"id", *t}, {"ids", Json::array({id_of(*t)})}, {"tokens", Json::array({*t})}};
  }
  Json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer",
       {{"type", "BertNormalizer"},
        {"clean_text", spec.clean_text},
        {"handle_chinese_chars", spec.handle_chinese_chars},
        {"strip_accents", spec.strip_accents < 0 ? Json() : Json(spec.strip_accents == 1)},
        {"lowercase", spec.lowercase}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {special(spec.cls_token, 0), sequence("A", 0), special(spec.sep_token, 0)}},
        {"pair",
         {special(spec.cls_token, 0), sequence("A", 0), special(spec.sep_token, 0), sequence("B", 1),
          special(spec.sep_token, 1)}},
        {"special_tokens", specials}}},
      {"decoder", {{"type", "WordPiece"}, {"prefix", spec.continuing_prefix}, {"cleanup", true}}},
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", spec.unk_token},
        {"continuing_subword_prefix", spec.continuing_prefix},
        {"max_input_chars_per_word", spec.max_input_chars_per_word},
        {"vocab", vocab}}},
  };
  return j.dump(2) + "\n";
}

}  // namespace polysweep
