// Training hyperparameters a trial can set, fixed in the config's `training`
// block or searched in `search.space`. One table declares each name, its type
// and its valid range; the config parser and the worker both go through it.
#pragma once

#include <string>
#include <vector>

#include "common/search_space.h"
#include "common/status.h"

namespace polysweep {

struct TrainingParams {
  double lr = 5e-4;           // peak learning rate of AdamW
  int batch_size = 32;        // examples per rank per step
  int warmup_steps = 30;      // linear warmup, then linear decay to 0
  double weight_decay = 0.01;
  double dropout = 0.1;
  double grad_clip = 1.0;     // max global gradient norm; 0 disables
  int seed = 1;
};

// Names accepted in `training` and `search.space`.
const std::vector<std::string>& KnownHyperparameters();

// Sets `name` to `value`, checking type and range. The message names the
// hyperparameter and the accepted range.
Status ApplyHyperparameter(TrainingParams* params, const std::string& name,
                           const ParamValue& value);

// Applies every entry of `assignment` in order.
Status ApplyAssignment(TrainingParams* params, const ParamAssignment& assignment);

}  // namespace polysweep
