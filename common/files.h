// File helpers with the durability the journal and the data pipeline need.
#pragma once

#include <string>

#include "common/status.h"

namespace polysweep {

// Writes `content` to `path` atomically: a temporary file in the same
// directory, fsync, rename, fsync of the directory. Readers see the old file
// or the new one, never a mix.
Status WriteFileAtomic(const std::string& path, const std::string& content);

StatusOr<std::string> ReadFile(const std::string& path);

// Wall-clock seconds since the epoch, for journal timestamps.
double WallSeconds();

}  // namespace polysweep
