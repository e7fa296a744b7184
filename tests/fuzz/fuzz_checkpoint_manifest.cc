// Fuzzes the checkpoint manifest parser (what decides whether a checkpoint
// exists and which files it holds).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/checkpoint_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = polysweep::ParseCheckpointManifest(std::string(reinterpret_cast<const char*>(data), size), "MANIFEST.json");
  if (!m.ok()) return 0;
  for (const auto& f : m->files) {
    if (f.name.empty() || f.name.find('/') != std::string::npos || f.bytes < 0) std::abort();
  }
  auto back = polysweep::ParseCheckpointManifest(polysweep::CheckpointManifestToJson(*m), "again.json");
  if (!back.ok() || back->step != m->step || back->files.size() != m->files.size()) std::abort();
  return 0;
}
