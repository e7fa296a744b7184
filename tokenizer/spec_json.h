// What the tokenizer descriptions (tokenizer.json, vocab.json,
// tokenizer_config.json) share: reading a JSON object, refusing a key by
// file and name, and a vocabulary of dense ids.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace polysweep {

using SpecJson = nlohmann::ordered_json;

// "PATH: KEY: WHY", as a data error.
Status RefuseKey(const std::string& path, const std::string& key, const std::string& why);
// The JSON object in `path`, or an error naming it.
StatusOr<SpecJson> ReadJsonObject(const std::string& path);
// A {token: id} object whose ids are exactly 0..n-1, as the token of each id;
// refused as "PATH: KEY[...]: ..." otherwise.
Status ReadDenseVocab(const std::string& path, const std::string& key, const SpecJson& vocab,
                      std::vector<std::string>* tokens);

}  // namespace polysweep
