#include "tokenizer/spec_json.h"

#include "common/files.h"

namespace polysweep {

Status RefuseKey(const std::string& path, const std::string& key, const std::string& why) {
  return Status::DataError(path + ": " + key + ": " + why);
}

StatusOr<SpecJson> ReadJsonObject(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  SpecJson j = SpecJson::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::DataError(path + ": not a JSON object");
  return j;
}

Status ReadDenseVocab(const std::string& path, const std::string& key, const SpecJson& vocab,
                      std::vector<std::string>* tokens) {
  if (!vocab.is_object()) return RefuseKey(path, key, "missing");
  tokens->assign(vocab.size(), std::string());
  std::vector<bool> seen(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<uint64_t>() >= vocab.size() ||
        seen[id.get<size_t>()]) {
      return RefuseKey(path, key + "[\"" + token + "\"]", "the ids are not 0.." + std::to_string(vocab.size() - 1));
    }
    seen[id.get<size_t>()] = true;
    (*tokens)[id.get<size_t>()] = token;
  }
  return Status::Ok();
}

}  // namespace polysweep
