#include "coordinator/security.h"

#include <filesystem>

namespace polysweep {

StatusOr<CoordinatorSecurity> LoadSweepSecurity(const std::string& keys_dir) {
  SweepKeyFiles keys(keys_dir);
  PS_RETURN_IF_ERROR(EnsureSweepKeys(keys));
  CoordinatorSecurity sec;
  sec.keys_dir = keys.dir;
  auto server = LoadKeyPair(keys.coordinator() + ".key");
  if (!server.ok()) return server.status();
  sec.server = *server;
  for (auto [prefix, role] : {std::pair{keys.worker(), "worker"}, std::pair{keys.owner(), "owner"}}) {
    auto key = LoadPublicKey(prefix + ".pub");
    if (!key.ok()) return key.status();
    sec.allowed[*key] = role;
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(keys.authorized(), ec)) {
    if (e.path().extension() != ".pub") continue;
    auto key = LoadPublicKey(e.path().string());
    if (!key.ok()) return key.status();
    sec.allowed[*key] = "owner";
  }
  return sec;
}

}  // namespace polysweep
