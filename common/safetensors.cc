#include "common/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/files.h"

namespace polysweep {

namespace {

using Json = nlohmann::json;

constexpr size_t kMaxHeaderBytes = 100 << 20;  // the format's own limit

struct DTypeRow {
  SafeDType dtype;
  const char* name;
  size_t bytes;
};
constexpr DTypeRow kDTypes[] = {
    {SafeDType::kF64, "F64", 8}, {SafeDType::kF32, "F32", 4}, {SafeDType::kF16, "F16", 2},
    {SafeDType::kBF16, "BF16", 2}, {SafeDType::kI64, "I64", 8}, {SafeDType::kI32, "I32", 4},
    {SafeDType::kI16, "I16", 2}, {SafeDType::kI8, "I8", 1}, {SafeDType::kU8, "U8", 1},
    {SafeDType::kBool, "BOOL", 1},
};

bool ParseDType(const std::string& name, SafeDType* out) {
  for (const DTypeRow& row : kDTypes) {
    if (name == row.name) {
      *out = row.dtype;
      return true;
    }
  }
  return false;
}

// The byte count of `shape` in `dtype`, or false on overflow or a negative dimension.
bool ShapeBytes(const std::vector<int64_t>& shape, SafeDType dtype, size_t* out) {
  unsigned __int128 n = SafeDTypeBytes(dtype);
  for (int64_t d : shape) {
    if (d < 0) return false;
    n *= static_cast<uint64_t>(d);
    if (n > (static_cast<unsigned __int128>(1) << 62)) return false;
  }
  *out = static_cast<size_t>(n);
  return true;
}

uint64_t ReadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

const char* SafeDTypeName(SafeDType dtype) {
  for (const DTypeRow& row : kDTypes) {
    if (row.dtype == dtype) return row.name;
  }
  return "?";
}

size_t SafeDTypeBytes(SafeDType dtype) {
  for (const DTypeRow& row : kDTypes) {
    if (row.dtype == dtype) return row.bytes;
  }
  return 0;
}

int64_t SafeTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::DataError(path + ": cannot stat: " + std::strerror(errno));
  }
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ < 8) {
    ::close(fd);
    return Status::DataError(path + ": truncated: " + std::to_string(f->size_) +
                             " bytes, a safetensors file starts with an 8-byte header length");
  }
  f->map_ = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (f->map_ == MAP_FAILED) {
    f->map_ = nullptr;
    return Status::DataError(path + ": cannot map: " + std::strerror(errno));
  }
  const auto* bytes = static_cast<const uint8_t*>(f->map_);
  const uint64_t header_len = ReadLe64(bytes);
  if (header_len > f->size_ - 8) {
    return Status::DataError(path + ": the header claims " + std::to_string(header_len) +
                             " bytes, past the end of the file (" + std::to_string(f->size_) +
                             " bytes): truncated or not a safetensors file");
  }
  if (header_len > kMaxHeaderBytes) {
    return Status::DataError(path + ": a header of " + std::to_string(header_len) + " bytes (the format allows 100 MB)");
  }
  PS_RETURN_IF_ERROR(f->Parse(std::string(reinterpret_cast<const char*>(bytes + 8), header_len), 8 + header_len));
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) munmap(map_, size_);
}

Status SafetensorsFile::Parse(const std::string& header, size_t data_begin) {
  const Json j = Json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::DataError(path_ + ": the header is not a JSON object");
  const size_t data_size = size_ - data_begin;
  const auto* base = static_cast<const uint8_t*>(map_) + data_begin;
  for (const auto& [name, entry] : j.items()) {
    const std::string where = path_ + ": tensor " + name + ": ";
    if (name == "__metadata__") {
      if (!entry.is_object()) return Status::DataError(path_ + ": __metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) return Status::DataError(path_ + ": __metadata__." + k + " is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry["dtype"].is_string() || !entry.contains("shape") ||
        !entry["shape"].is_array() || !entry.contains("data_offsets") || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2) {
      return Status::DataError(where + "expected {\"dtype\", \"shape\", \"data_offsets\": [begin, end]}");
    }
    SafeTensor t;
    t.name = name;
    t.file = path_;
    if (!ParseDType(entry["dtype"].get<std::string>(), &t.dtype)) {
      return Status::DataError(where + "unknown dtype " + entry["dtype"].get<std::string>());
    }
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) return Status::DataError(where + "a shape of non-negative integers");
      t.shape.push_back(d.get<int64_t>());
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
      return Status::DataError(where + "data_offsets are not non-negative integers");
    }
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      return Status::DataError(where + "bytes " + std::to_string(begin) + ".." + std::to_string(end) +
                               " point past the end of the file's " + std::to_string(data_size) +
                               " data bytes: truncated or corrupt");
    }
    size_t expected = 0;
    if (!ShapeBytes(t.shape, t.dtype, &expected) || expected != end - begin) {
      return Status::DataError(where + std::to_string(end - begin) + " bytes do not hold its shape in " +
                               SafeDTypeName(t.dtype));
    }
    t.data = base + begin;
    t.bytes = end - begin;
    tensors_[name] = std::move(t);
  }
  return Status::Ok();
}

StatusOr<SafetensorsCheckpoint> SafetensorsCheckpoint::Open(const std::string& dir) {
  namespace fs = std::filesystem;
  SafetensorsCheckpoint c;
  const std::string single = dir + "/model.safetensors", index = dir + "/model.safetensors.index.json";
  if (fs::exists(single)) {
    auto f = SafetensorsFile::Open(single);
    if (!f.ok()) return f.status();
    c.source_ = single;
    c.files_.push_back(std::move(*f));
    for (const auto& [name, t] : c.files_.back()->tensors()) c.index_[name] = &t;
    return c;
  }
  if (!fs::exists(index)) {
    for (const char* other : {"pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack"}) {
      if (fs::exists(dir + "/" + other)) {
        return Status::InvalidConfig(
            dir + ": has " + other + " but no model.safetensors; polysweep reads safetensors only (a pickle can run "
            "code when loaded). Convert it on a machine with transformers: python3 -c \"from transformers import "
            "AutoModel; AutoModel.from_pretrained('" + dir + "').save_pretrained('" + dir + "-safetensors', "
            "safe_serialization=True)\", then copy the tokenizer files alongside");
      }
    }
    return Status::NotFound(dir + ": no model.safetensors or model.safetensors.index.json");
  }
  std::ifstream in(index);
  std::stringstream text;
  text << in.rdbuf();
  const Json j = Json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    return Status::DataError(index + ": expected a JSON object with a \"weight_map\"");
  }
  c.source_ = index;
  std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string() || file.get<std::string>().find('/') != std::string::npos) {
      return Status::DataError(index + ": weight_map." + name + ": expected a file name in " + dir);
    }
    auto& shard = shards[file.get<std::string>()];
    if (!shard) {
      auto f = SafetensorsFile::Open(dir + "/" + file.get<std::string>());
      if (!f.ok()) return Status::Error(f.status().code(), index + ": " + f.status().message());
      shard = std::move(*f);
      c.files_.push_back(shard);
    }
    auto it = shard->tensors().find(name);
    if (it == shard->tensors().end()) {
      return Status::DataError(index + ": tensor " + name + " is mapped to " + shard->path() + ", which lacks it");
    }
    c.index_[name] = &it->second;
  }
  return c;
}

const SafeTensor* SafetensorsCheckpoint::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : index_) out.push_back(name);
  return out;
}

Status WriteSafetensors(const std::string& path, const std::vector<SafeTensorData>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  std::vector<const SafeTensorData*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const SafeTensorData* t : sorted) {
    size_t expected = 0;
    if (!ShapeBytes(t->shape, t->dtype, &expected) || expected != t->bytes.size()) {
      return Status::Internal(path + ": tensor " + t->name + ": " + std::to_string(t->bytes.size()) +
                              " bytes do not hold its shape");
    }
    header[t->name] = {{"dtype", SafeDTypeName(t->dtype)}, {"shape", t->shape}, {"data_offsets", {offset, offset + expected}}};
    offset += expected;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned, as the reference writer pads
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xff);
  out += text;
  for (const SafeTensorData* t : sorted) out += t->bytes;
  return WriteFileAtomic(path, out);
}

}  // namespace polysweep
