// Safetensors, the weight format of Hugging Face checkpoints: an 8-byte
// little-endian header length N, N bytes of JSON naming each tensor's dtype,
// shape and byte range, then the tensors' bytes. Files are mapped, not read:
// a tensor is a view into the mapping, valid while its SafetensorsFile
// lives. Everything the header claims is checked against the file before a
// tensor is handed out (a truncated file, a header or a range past the end,
// a byte count that does not match the shape), and errors name the file and
// the tensor. A sharded checkpoint (model.safetensors.index.json and its
// shards) reads as one. WriteSafetensors writes the same format. Plain data;
// no LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace polysweep {

enum class SafeDType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };
const char* SafeDTypeName(SafeDType dtype);  // as the header spells it: "F32", "BF16", ...
size_t SafeDTypeBytes(SafeDType dtype);

struct SafeTensor {
  std::string name;
  SafeDType dtype = SafeDType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // into the file's mapping
  size_t bytes = 0;
  std::string file;  // the file it is in, for messages
  int64_t numel() const;
};

// One mapped .safetensors file.
class SafetensorsFile {
 public:
  static StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::map<std::string, SafeTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  SafetensorsFile() = default;
  Status Parse(const std::string& header, size_t data_begin);

  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, SafeTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A model's weights: DIR/model.safetensors, or the shards that
// DIR/model.safetensors.index.json maps each tensor to.
class SafetensorsCheckpoint {
 public:
  // A directory with only pytorch_model.bin (or tf/flax weights) is refused
  // with the command that converts it.
  static StatusOr<SafetensorsCheckpoint> Open(const std::string& dir);
  // The tensor, or nullptr.
  const SafeTensor* Find(const std::string& name) const;
  std::vector<std::string> names() const;
  // Where tensors are (the file, or the index), for messages.
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafeTensor*> index_;
};

// A tensor to write: its bytes in `dtype`, row-major.
struct SafeTensorData {
  std::string name;
  SafeDType dtype = SafeDType::kF32;
  std::vector<int64_t> shape;
  std::string bytes;
};

// Writes `tensors` (in name order, as Hugging Face's writer does) and
// `metadata` to `path`, atomically.
Status WriteSafetensors(const std::string& path, const std::vector<SafeTensorData>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

}  // namespace polysweep
