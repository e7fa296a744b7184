// Fuzzes the data manifest parser (what `polysweep shard` writes and every
// rank reads): malformed JSON, wrong types, escaping file names.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = polysweep::ParseManifest(std::string(reinterpret_cast<const char*>(data), size), "manifest.json");
  if (!m.ok()) return 0;
  for (const auto& s : m->shards) {
    if (s.file.empty() || s.file[0] == '/' || s.file.find("..") != std::string::npos) std::abort();
  }
  (void)polysweep::ParseManifest(polysweep::ManifestToJson(*m), "again.json");
  return 0;
}
