#include "common/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>

#include "common/files.h"

namespace polysweep {
namespace {

bool IsZ85Key(const std::string& k) {
  if (k.size() != 40) return false;
  uint8_t raw[32];
  return zmq_z85_decode(raw, k.c_str()) != nullptr;
}

StatusOr<std::string> Field(const std::string& text, const std::string& name, const std::string& path) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(name + R"re(\s*=\s*"([^"]*)")re"))) {
    return Status::Error(path + ": no " + name + " in key file");
  }
  const std::string key = m[1];
  if (!IsZ85Key(key)) return Status::Error(path + ": " + name + " is not a 40-character Z85 CURVE key");
  return key;
}

Status WriteWithMode(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::Error(path + ": cannot create: " + std::strerror(errno));
  ::fchmod(fd, mode);  // regardless of the umask
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::Error(path + ": write failed");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<CurveKeyPair> GenerateKeyPair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status::Error(std::string("cannot generate a CURVE key pair: ") + zmq_strerror(zmq_errno()) +
                         " (libzmq built without CURVE?)");
  }
  return CurveKeyPair{pub, sec};
}

Status WriteKeyPair(const std::string& prefix, const CurveKeyPair& pair) {
  const std::string key = prefix + ".key", pub = prefix + ".pub";
  if (std::filesystem::exists(key)) return Status::Error(key + ": already exists; not overwriting a key");
  PS_RETURN_IF_ERROR(WriteWithMode(key, "# polysweep CURVE key pair: keep this file secret\npublic-key = \"" +
                                            pair.public_key + "\"\nsecret-key = \"" + pair.secret_key + "\"\n",
                                   0600));
  std::filesystem::remove(pub);
  return WriteWithMode(pub, "# polysweep CURVE public key\npublic-key = \"" + pair.public_key + "\"\n", 0644);
}

StatusOr<CurveKeyPair> LoadKeyPair(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::Error(path + ": no key file");
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    return Status::Error(path + ": key file is readable by others (mode " +
                         std::to_string((st.st_mode & 0777) / 64) + std::to_string((st.st_mode & 077) / 8) +
                         std::to_string(st.st_mode & 07) + "); chmod 600 it");
  }
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto pub = Field(*text, "public-key", path);
  if (!pub.ok()) return pub.status();
  auto sec = Field(*text, "secret-key", path);
  if (!sec.ok()) return sec.status();
  return CurveKeyPair{*pub, *sec};
}

StatusOr<std::string> LoadPublicKey(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return Field(*text, "public-key", path);
}

Status EnsureSweepKeys(const SweepKeyFiles& files) {
  std::error_code ec;
  std::filesystem::create_directories(files.dir, ec);
  if (ec) return Status::Error(files.dir + ": cannot create: " + ec.message());
  ::chmod(files.dir.c_str(), 0700);
  for (const std::string& prefix : {files.coordinator(), files.worker(), files.owner()}) {
    if (std::filesystem::exists(prefix + ".key")) continue;
    auto pair = GenerateKeyPair();
    if (!pair.ok()) return pair.status();
    PS_RETURN_IF_ERROR(WriteKeyPair(prefix, *pair));
  }
  return Status::Ok();
}

bool SameSecret(std::string_view presented, std::string_view expected) {
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < presented.size(); ++i) {
    diff |= static_cast<unsigned char>(presented[i] ^ (i < expected.size() ? expected[i] : 0));
  }
  return diff == 0;
}

}  // namespace polysweep
