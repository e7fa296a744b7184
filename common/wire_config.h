// The config's sections as an Assignment carries them to the ranks: one
// mapping each way, so neither the coordinator (coordinator.cc's
// MakeAssignment) nor the worker (worker/trial_setup.cc) copies fields by
// hand, and a new field is added in one place beside the .proto.
#pragma once

#include "common/config.h"
#include "polysweep.pb.h"

namespace polysweep {

void ModelToWire(const ModelConfig& model, wire::ModelSpec* out);
// An empty task is sequence_classification (what older coordinators sent).
ModelConfig ModelFromWire(const wire::ModelSpec& model);

void MetricToWire(const MetricConfig& metric, wire::MetricSpec* out);
// An empty name is the default objective (macro_f1, maximized).
MetricConfig MetricFromWire(const wire::MetricSpec& metric);

// The trial's engine settings: threads, backend, heartbeats, checkpoints,
// gradient buckets, the collective timeout, the synthetic trainable.
void TrialResourcesToWire(const TrialResources& trial, wire::Assignment* out);

}  // namespace polysweep
