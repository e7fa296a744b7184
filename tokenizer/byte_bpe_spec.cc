// Reading and writing a byte-level BPE tokenizer's description: Hugging
// Face's tokenizer.json, or the older vocab.json + merges.txt.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "tokenizer/byte_bpe.h"
#include "tokenizer/spec_json.h"

namespace polysweep {
namespace {

using Json = SpecJson;

Status ReadVocab(const std::string& path, const std::string& key, const Json& vocab, ByteBpeSpec* spec) {
  return ReadDenseVocab(path, key, vocab, &spec->vocab);
}

// A merge: "a b" (merges.txt, older tokenizer.json) or ["a", "b"].
Status AddMerge(const std::string& path, const std::string& key, const Json& m, ByteBpeSpec* spec) {
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    spec->merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    return Status::Ok();
  }
  const std::string line = m.is_string() ? m.get<std::string>() : "";
  const size_t space = line.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 >= line.size() ||
      line.find(' ', space + 1) != std::string::npos) {
    return RefuseKey(path, key, "not a merge of two tokens");
  }
  spec->merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  return Status::Ok();
}

Status ReadModel(const std::string& path, const Json& j, ByteBpeSpec* spec) {
  const Json& m = j.contains("model") ? j["model"] : Json();
  if (!m.is_object() || m.value("type", "") != "BPE") return RefuseKey(path, "model.type", "not a BPE model");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (m.contains(key) && m[key].is_string() && !m[key].get<std::string>().empty()) {
      return RefuseKey(path, std::string("model.") + key, "set; byte-level BPE has none");
    }
  }
  for (const char* key : {"byte_fallback", "ignore_merges"}) {
    if (m.value(key, false)) return RefuseKey(path, std::string("model.") + key, "true, which polysweep does not read");
  }
  PS_RETURN_IF_ERROR(ReadVocab(path, "model.vocab", m.contains("vocab") ? m["vocab"] : Json(), spec));
  if (!m.contains("merges") || !m["merges"].is_array()) return RefuseKey(path, "model.merges", "missing");
  size_t i = 0;
  for (const Json& merge : m["merges"]) {
    PS_RETURN_IF_ERROR(AddMerge(path, "model.merges[" + std::to_string(i++) + "]", merge, spec));
  }
  if (m.contains("unk_token") && m["unk_token"].is_string()) spec->unk_token = m["unk_token"].get<std::string>();
  return Status::Ok();
}

Status ReadProcessing(const std::string& path, const Json& j, ByteBpeSpec* spec) {
  if (j.contains("normalizer") && !j["normalizer"].is_null()) {
    return RefuseKey(path, "normalizer", "set; byte-level BPE as RoBERTa has it has none");
  }
  const Json& pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : Json();
  if (!pre.is_object() || pre.value("type", "") != "ByteLevel" || !pre.value("use_regex", true)) {
    return RefuseKey(path, "pre_tokenizer", "polysweep reads GPT-2's (ByteLevel with its regular expression)");
  }
  spec->add_prefix_space = pre.value("add_prefix_space", false);
  const Json& post = j.contains("post_processor") ? j["post_processor"] : Json();
  if (post.is_object() && post.value("type", "") == "RobertaProcessing") {
    spec->bos_token = post["cls"][0].get<std::string>();
    spec->eos_token = post["sep"][0].get<std::string>();
  } else if (!post.is_null()) {
    return RefuseKey(path, "post_processor", "polysweep reads RoBERTa's (RobertaProcessing), not this one");
  }
  if (!j.contains("added_tokens")) return Status::Ok();
  size_t i = 0;
  for (const Json& t : j["added_tokens"]) {
    const std::string key = "added_tokens[" + std::to_string(i++) + "]";
    if (t.value("single_word", false)) return RefuseKey(path, key, "single_word, which polysweep does not read");
    spec->special_tokens.push_back({t.value("content", ""), 0, t.value("lstrip", false), t.value("rstrip", false)});
  }
  return Status::Ok();
}

StatusOr<ByteBpeSpec> ReadTokenizerJson(const std::string& path) {
  auto j = ReadJsonObject(path);
  if (!j.ok()) return j.status();
  ByteBpeSpec spec;
  try {
    PS_RETURN_IF_ERROR(ReadModel(path, *j, &spec));
    PS_RETURN_IF_ERROR(ReadProcessing(path, *j, &spec));
  } catch (const Json::exception& e) {
    return Status::DataError(path + ": " + e.what());
  }
  return spec;
}

// vocab.json, merges.txt beside it, and tokenizer_config.json's
// add_prefix_space and special tokens (RoBERTa's defaults otherwise).
StatusOr<ByteBpeSpec> ReadVocabJson(const std::string& path) {
  auto j = ReadJsonObject(path);
  if (!j.ok()) return j.status();
  ByteBpeSpec spec;
  PS_RETURN_IF_ERROR(ReadVocab(path, "vocab", *j, &spec));
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  const std::string merges = (dir / "merges.txt").string();
  std::ifstream in(merges, std::ios::binary);
  if (!in) return Status::NotFound(merges + ": cannot read (vocab.json needs the merges.txt beside it)");
  size_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_number == 1 && line.rfind("#version", 0) == 0)) continue;
    PS_RETURN_IF_ERROR(AddMerge(merges, "line " + std::to_string(line_number), Json(line), &spec));
  }
  std::string mask = "<mask>", unk = "<unk>";
  const std::string config = (dir / "tokenizer_config.json").string();
  if (std::filesystem::is_regular_file(config)) {
    auto c = ReadJsonObject(config);
    if (!c.ok()) return c.status();
    spec.add_prefix_space = c->value("add_prefix_space", false);
    auto token = [&](const char* key, std::string* out) {
      if (c->contains(key) && (*c)[key].is_string()) *out = (*c)[key].get<std::string>();
      if (c->contains(key) && (*c)[key].is_object()) *out = (*c)[key].value("content", *out);
    };
    token("bos_token", &spec.bos_token);
    token("eos_token", &spec.eos_token);
    token("unk_token", &unk);
    token("pad_token", &spec.pad_token);
    token("mask_token", &mask);
  }
  // As transformers' RobertaTokenizer adds them; <mask> takes the space before it.
  for (const std::string& t : {spec.bos_token, spec.pad_token, spec.eos_token, unk, mask}) {
    if (std::find(spec.vocab.begin(), spec.vocab.end(), t) != spec.vocab.end()) {
      spec.special_tokens.push_back({t, 0, t == mask, false});
    }
  }
  return spec;
}

}  // namespace

StatusOr<ByteBpeSpec> ReadByteBpeSpec(const std::string& path) {
  if (std::filesystem::path(path).filename() == "vocab.json") return ReadVocabJson(path);
  return ReadTokenizerJson(path);
}

std::string ByteBpeTokenizerJson(const ByteBpeSpec& spec) {
  Json vocab = Json::object();
  for (size_t i = 0; i < spec.vocab.size(); ++i) vocab[spec.vocab[i]] = i;
  Json merges = Json::array();
  for (const auto& [a, b] : spec.merges) merges.push_back(a + " " + b);
  Json added = Json::array();
  for (const SpecialToken& t : spec.special_tokens) {
    added.push_back({{"id", vocab.contains(t.content) ? vocab[t.content] : Json()}, {"content", t.content},
                     {"single_word", false}, {"lstrip", t.lstrip}, {"rstrip", t.rstrip}, {"normalized", false},
                     {"special", true}});
  }
  auto id_of = [&](const std::string& t) { return vocab.contains(t) ? vocab[t] : Json(); };
  Json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "ByteLevel"}, {"add_prefix_space", spec.add_prefix_space}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor",
       {{"type", "RobertaProcessing"},
        {"sep", Json::array({spec.eos_token, id_of(spec.eos_token)})},
        {"cls", Json::array({spec.bos_token, id_of(spec.bos_token)})},
        {"trim_offsets", true},
        {"add_prefix_space", spec.add_prefix_space}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", spec.unk_token.empty() ? Json() : Json(spec.unk_token)},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"vocab", vocab},
        {"merges", merges}}},
  };
  return j.dump(2) + "\n";
}

}  // namespace polysweep
