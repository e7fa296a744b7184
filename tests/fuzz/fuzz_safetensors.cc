// Fuzzes the safetensors reader (a downloaded checkpoint is untrusted
// input): every tensor it hands out must lie inside the file and hold its
// shape's bytes, whatever the header claims. The input is written to a file
// in /dev/shm, since the reader maps files.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "common/safetensors.h"

namespace {
// The file each input is written to, removed when the fuzzer exits.
struct ScratchFile {
  std::string path = "/dev/shm/polysweep-fuzz-" + std::to_string(getpid()) + ".safetensors";
  ~ScratchFile() { unlink(path.c_str()); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ScratchFile scratch;
  const std::string& path = scratch.path;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto file = polysweep::SafetensorsFile::Open(path);
  if (!file.ok()) {
    if (file.status().message().rfind(path, 0) != 0) std::abort();  // every error names the file
    return 0;
  }
  uint64_t sum = 0;
  for (const auto& [name, t] : (*file)->tensors()) {
    if (t.bytes != static_cast<size_t>(t.numel()) * polysweep::SafeDTypeBytes(t.dtype)) std::abort();
    for (size_t i = 0; i < t.bytes; ++i) sum += t.data[i];  // ASan: every byte is inside the mapping
  }
  return sum == 0xdeadbeef ? 1 : 0;
}
