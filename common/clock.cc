#include "common/clock.h"

#include "common/files.h"

namespace polysweep {

double SystemClock::Now() const { return WallSeconds(); }

}  // namespace polysweep
