// CURVE key pairs (ZeroMQ's Curve25519, Z85 text) and where a sweep keeps
// them. A key file holds a pair and is written 0600; a .pub file holds only
// the public key and may be shared.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace polysweep {

struct CurveKeyPair {
  std::string public_key;  // 40 Z85 characters
  std::string secret_key;  // 40 Z85 characters
};

StatusOr<CurveKeyPair> GenerateKeyPair();

// Writes PREFIX.key (both keys, mode 0600) and PREFIX.pub (public key, 0644).
// Refuses to overwrite an existing PREFIX.key.
Status WriteKeyPair(const std::string& prefix, const CurveKeyPair& pair);
StatusOr<CurveKeyPair> LoadKeyPair(const std::string& key_path);
StatusOr<std::string> LoadPublicKey(const std::string& path);  // a .pub or a .key file

// The keys of a secured sweep, all in one directory (a shared file system on
// clusters): the coordinator's pair, the pair every rank of the sweep uses,
// the owner's pair (state-changing CLI commands), and authorized/*.pub, more
// owners' public keys.
struct SweepKeyFiles {
  explicit SweepKeyFiles(std::string dir) : dir(std::move(dir)) {}
  std::string dir;
  std::string coordinator() const { return dir + "/coordinator"; }
  std::string worker() const { return dir + "/worker"; }
  std::string owner() const { return dir + "/owner"; }
  std::string authorized() const { return dir + "/authorized"; }
};

// Creates any missing key pair in `files.dir` (mode 0700).
Status EnsureSweepKeys(const SweepKeyFiles& files);

// Whether a presented secret (a bearer token) equals the expected one,
// compared without stopping at the first difference, so that the time a
// refusal takes says nothing about how much of it was right.
bool SameSecret(std::string_view presented, std::string_view expected);

}  // namespace polysweep
