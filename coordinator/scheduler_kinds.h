// The trial schedulers coordinator/scheduler.cc implements, by the name
// `scheduler.type` gives them. The config parser accepts these names and no
// others (cli/config_names.h hands it this table); MakeScheduler makes each.
// Header-only, so a parser that does not link the coordinator (the config
// fuzzer) reads the same table.
#pragma once

#include <vector>

#include "common/config.h"

namespace polysweep {

inline const std::vector<KindName<SchedulerKind>>& SchedulerKinds() {
  static const std::vector<KindName<SchedulerKind>> names = {
      {"fifo", SchedulerKind::kFifo},
      {"asha", SchedulerKind::kAsha},
      {"hyperband", SchedulerKind::kHyperband},
      {"median", SchedulerKind::kMedian},
  };
  return names;
}

inline const char* SchedulerKindName(SchedulerKind kind) { return NameOf(SchedulerKinds(), kind); }

}  // namespace polysweep
