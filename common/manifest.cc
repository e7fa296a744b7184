#include "common/manifest.h"

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json_fields.h"

namespace polysweep {

const char* SplitName(Split s) {
  switch (s) {
    case kTrain: return "train";
    case kValid: return "valid";
    case kTest: return "test";
  }
  return "?";
}

StatusOr<Split> ParseSplit(const std::string& name) {
  for (Split s : {kTrain, kValid, kTest}) {
    if (name == SplitName(s)) return s;
  }
  if (name == "validation" || name == "dev") return kValid;
  return Status::InvalidConfig("unknown split \"" + name + "\" (train, valid, validation, dev or test)");
}

int64_t Manifest::split_size(Split s) const {
  int64_t n = 0;
  for (const auto& [lang, c] : counts) n += c[s];
  return n;
}

std::vector<int64_t> Manifest::language_sizes(Split s) const {
  std::vector<int64_t> out;
  for (const auto& lang : languages) {
    auto it = counts.find(lang);
    out.push_back(it == counts.end() ? 0 : it->second[s]);
  }
  return out;
}

const ShardEntry* Manifest::Find(Split s, const std::string& language) const {
  for (const auto& e : shards) {
    if (e.split == s && e.language == language) return &e;
  }
  return nullptr;
}

std::string ManifestToJson(const Manifest& m) {
  nlohmann::json j;
  j["version"] = m.version;
  j["fingerprint"] = m.fingerprint;
  j["labels"] = m.labels;
  j["languages"] = m.languages;
  for (const auto& [lang, c] : m.counts) j["counts"][lang] = {{"train", c[0]}, {"valid", c[1]}, {"test", c[2]}};
  j["tokenizer"] = {{"file", m.tokenizer_file}, {"hash", m.tokenizer_hash}, {"vocab_size", m.vocab_size},
                    {"mask_id", m.mask_id}, {"ids", TokenIdsName(m.token_ids)}};
  j["bad_lines"] = m.bad_lines;
  j["input_bytes"] = m.input_bytes;
  if (m.tag_scheme != TagScheme::kAuto) j["tag_scheme"] = TagSchemeName(m.tag_scheme);
  if (m.real_labels) j["real_labels"] = true;
  if (m.multi_label) j["multi_label"] = true;
  j["shards"] = nlohmann::json::array();
  for (const auto& e : m.shards) {
    j["shards"].push_back({{"split", SplitName(e.split)}, {"language", e.language}, {"file", e.file},
                           {"examples", e.examples}, {"tokens", e.tokens}, {"bytes", e.bytes},
                           {"checksum", e.checksum}});
  }
  return j.dump(2) + "\n";
}

StatusOr<Manifest> ParseManifest(const std::string& text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Error(where + ": not a JSON manifest");
  Manifest m;
  try {
    m.version = JsonInt<int>(j, "version");
    if (m.version != 1) return Status::Error(where + ": manifest version " + std::to_string(m.version) + " is not supported");
    m.fingerprint = j.at("fingerprint").get<std::string>();
    m.labels = j.at("labels").get<std::vector<std::string>>();
    m.languages = j.at("languages").get<std::vector<std::string>>();
    for (auto& [lang, c] : j.at("counts").items()) {
      m.counts[lang] = {JsonInt<int64_t>(c, "train"), JsonInt<int64_t>(c, "valid"), JsonInt<int64_t>(c, "test")};
    }
    m.tokenizer_file = j.at("tokenizer").at("file").get<std::string>();
    m.tokenizer_hash = j.at("tokenizer").at("hash").get<std::string>();
    m.vocab_size = JsonInt<int>(j.at("tokenizer"), "vocab_size");
    m.mask_id = j.at("tokenizer").contains("mask_id") ? JsonInt<int>(j.at("tokenizer"), "mask_id") : -1;
    if (j.at("tokenizer").contains("ids")) {
      auto ids = ParseTokenIds(j.at("tokenizer").at("ids").get<std::string>());
      if (!ids.ok()) return Status::DataError(where + ": tokenizer.ids: " + ids.status().message());
      m.token_ids = *ids;
    }
    m.bad_lines = JsonInt<int64_t>(j, "bad_lines");
    m.input_bytes = j.contains("input_bytes") ? JsonInt<int64_t>(j, "input_bytes") : 0;
    m.real_labels = j.value("real_labels", false);
    m.multi_label = j.value("multi_label", false);
    if (j.contains("tag_scheme")) {
      auto scheme = ParseTagScheme(j.at("tag_scheme").get<std::string>());
      if (!scheme.ok()) return Status::DataError(where + ": tag_scheme: " + scheme.status().message());
      m.tag_scheme = *scheme;
    }
    for (const auto& e : j.at("shards")) {
      ShardEntry s;
      const std::string split = e.at("split").get<std::string>();
      if (split == "train") s.split = kTrain;
      else if (split == "valid") s.split = kValid;
      else if (split == "test") s.split = kTest;
      else return Status::Error(where + ": unknown split \"" + split + "\"");
      s.language = e.at("language").get<std::string>();
      s.file = e.at("file").get<std::string>();
      s.examples = JsonInt<int64_t>(e, "examples");
      s.tokens = JsonInt<int64_t>(e, "tokens");
      s.bytes = JsonInt<int64_t>(e, "bytes");
      s.checksum = e.at("checksum").get<std::string>();
      if (s.file.empty() || s.file.find("..") != std::string::npos || s.file[0] == '/') {
        return Status::Error(where + ": shard file name \"" + s.file + "\" is not a plain relative name");
      }
      m.shards.push_back(std::move(s));
    }
  } catch (const std::exception& e) {  // nlohmann's, and JsonInt's out_of_range
    return Status::Error(where + ": malformed manifest: " + e.what());
  }
  if (m.labels.size() > 65535 || m.languages.size() > 65535) return Status::Error(where + ": too many labels or languages");
  return m;
}

StatusOr<Manifest> LoadManifest(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseManifest(*text, path);
}

}  // namespace polysweep
