// Fuzzes the sweep config parser: YAML of any shape, duplicate keys, invalid
// UTF-8, huge numbers. Every input is parsed or refused with a message that
// names the file.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "cli/config_names.h"
#include "common/config.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The seed configs name this file in data.files, so the parser gets past
  // the file check into the deeper keys.
  std::ofstream("/tmp/polysweep-fuzz-data.jsonl") << "{}\n";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = polysweep::ParseSweepConfig(text, "fuzz.yaml", polysweep::RegisteredConfigNames());
  if (!config.ok() && config.status().message().rfind("fuzz.yaml", 0) != 0) std::abort();
  return 0;
}
