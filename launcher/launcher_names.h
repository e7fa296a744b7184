// The ways trial ranks start, by the name `trial.launcher` gives them:
// launcher/choose.cc makes each (and resolves `auto`). The config parser
// accepts these names and no others (cli/config_names.h hands it this
// table). Header-only, so a parser that does not link the launchers (the
// config fuzzer) reads the same table.
#pragma once

#include <string>
#include <vector>

namespace polysweep {

inline const std::vector<std::string>& LauncherNames() {
  static const std::vector<std::string> names = {"auto", "mpirun", "srun", "sbatch", "agents"};
  return names;
}

}  // namespace polysweep
