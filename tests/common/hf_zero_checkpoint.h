// A Hugging Face checkpoint of zeros, written from the table of tensors its
// family has (common/hf_checkpoint.h): every tensor config.json implies, of
// its shape, in BF16. For tests that read checkpoints, not compute with them.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/hf_checkpoint.h"
#include "common/safetensors.h"

namespace polysweep::testing_util {

inline Status WriteZeroHfCheckpoint(const std::string& dir, const std::string& config_json, const HfLayout& layout) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << config_json;
  auto config = ReadHfModelConfig(dir);
  if (!config.ok()) return config.status();
  std::vector<SafeTensorData> tensors;
  for (const HfWeightSource& s : HfWeightSources(*config, layout)) {
    for (const std::string& name : s.tensors) {
      int64_t n = 1;
      for (int64_t d : s.part_shape) n *= d;
      tensors.push_back({name, SafeDType::kBF16, s.part_shape, std::string(static_cast<size_t>(n) * 2, '\0')});
    }
  }
  return WriteSafetensors(dir + "/model.safetensors", tensors);
}

}  // namespace polysweep::testing_util
