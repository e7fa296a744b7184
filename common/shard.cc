#include "common/shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/files.h"
#include "common/hash.h"

namespace polysweep {
namespace {

constexpr char kMagic[8] = {'P', 'S', 'S', 'H', 'A', 'R', 'D', '1'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 64;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t reserved;
  uint64_t examples;
  uint64_t tokens;
  uint64_t offsets_at;
  uint64_t tokens_at;
  uint64_t labels_at;
  uint64_t langs_at;
};
static_assert(sizeof(Header) == kHeaderBytes, "shard header is 64 bytes");

template <typename T>
void Append(std::string& out, const std::vector<T>& v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

}  // namespace

void ShardData::Add(const std::vector<int>& ids, uint16_t label, uint16_t lang) {
  tokens.insert(tokens.end(), ids.begin(), ids.end());
  offsets.push_back(tokens.size());
  labels.push_back(label);
  langs.push_back(lang);
}

std::string ChecksumHex(uint64_t checksum) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(checksum));
  return buf;
}

StatusOr<ShardFileInfo> WriteShard(const std::string& path, const ShardData& data) {
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.examples = data.labels.size();
  h.tokens = data.tokens.size();
  h.offsets_at = kHeaderBytes;
  h.tokens_at = h.offsets_at + data.offsets.size() * sizeof(uint64_t);
  h.labels_at = h.tokens_at + data.tokens.size() * sizeof(int32_t);
  h.langs_at = h.labels_at + data.labels.size() * sizeof(uint16_t);
  std::string bytes(reinterpret_cast<const char*>(&h), sizeof h);
  bytes.reserve(h.langs_at + data.langs.size() * sizeof(uint16_t));
  Append(bytes, data.offsets);
  Append(bytes, data.tokens);
  Append(bytes, data.labels);
  Append(bytes, data.langs);
  PS_RETURN_IF_ERROR(WriteFileAtomic(path, bytes));
  return ShardFileInfo{bytes.size(), Fnv1a64(bytes)};
}

MappedShard::~MappedShard() {
  if (map_) munmap(map_, map_bytes_);
}

StatusOr<std::unique_ptr<MappedShard>> MappedShard::Open(const std::string& path, const std::string& expected_checksum) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(path + ": cannot open shard: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(kHeaderBytes)) {
    ::close(fd);
    return Status::Error(path + ": not a shard (too short)");
  }
  std::unique_ptr<MappedShard> s(new MappedShard());
  s->map_bytes_ = static_cast<size_t>(st.st_size);
  s->map_ = mmap(nullptr, s->map_bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (s->map_ == MAP_FAILED) {
    s->map_ = nullptr;
    return Status::Error(path + ": mmap failed: " + std::strerror(errno));
  }
  const char* base = static_cast<const char*>(s->map_);
  if (!expected_checksum.empty()) {
    const std::string actual = ChecksumHex(Fnv1a64(std::string_view(base, s->map_bytes_)));
    if (actual != expected_checksum) {
      return Status::Error(path + ": checksum mismatch (manifest " + expected_checksum + ", file " + actual +
                           "): the shard is corrupt; run `polysweep shard --force`");
    }
  }
  Header h;
  std::memcpy(&h, base, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kVersion) {
    return Status::Error(path + ": not a polysweep shard (bad magic or version)");
  }
  const uint64_t need = h.langs_at + h.examples * sizeof(uint16_t);
  if (h.offsets_at != kHeaderBytes || h.tokens_at != h.offsets_at + (h.examples + 1) * sizeof(uint64_t) ||
      h.labels_at != h.tokens_at + h.tokens * sizeof(int32_t) ||
      h.langs_at != h.labels_at + h.examples * sizeof(uint16_t) || need != s->map_bytes_) {
    return Status::Error(path + ": shard layout does not match its size (truncated?)");
  }
  s->examples_ = h.examples;
  s->tokens_count_ = h.tokens;
  s->offsets_ = reinterpret_cast<const uint64_t*>(base + h.offsets_at);
  s->tokens_ = reinterpret_cast<const int32_t*>(base + h.tokens_at);
  s->labels_ = reinterpret_cast<const uint16_t*>(base + h.labels_at);
  s->langs_ = reinterpret_cast<const uint16_t*>(base + h.langs_at);
  if (s->offsets_[0] != 0 || s->offsets_[h.examples] != h.tokens) {
    return Status::Error(path + ": shard offsets are inconsistent");
  }
  return s;
}

}  // namespace polysweep
