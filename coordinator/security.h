// The coordinator's CURVE set-up for one sweep: its key pair and the client
// keys it admits, each with a role: "worker" (the sweep's ranks: may report
// for their own trial and attempt, and read status) and "owner" (may also
// change state: stop a trial).
#pragma once

#include <map>
#include <string>

#include "common/keys.h"
#include "common/status.h"

namespace polysweep {

struct CoordinatorSecurity {
  CurveKeyPair server;
  std::map<std::string, std::string> allowed;  // Z85 public key -> role
  std::string keys_dir;                        // passed to the ranks
};

// Reads (creating when missing) the sweep's keys in `keys_dir`: the
// coordinator's pair, the ranks' pair, the owner's pair, and any further
// owners' public keys in `keys_dir`/authorized/*.pub.
StatusOr<CoordinatorSecurity> LoadSweepSecurity(const std::string& keys_dir);

}  // namespace polysweep
