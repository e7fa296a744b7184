// polysweep_hf_load: loads a Hugging Face encoder checkpoint into
// polysweep's model, as a trial's rank 0 does, and prints the seconds the
// load took as JSON: {"seconds": S, "parameters": N}. The model is built
// before the clock starts (as the peer builds its module first); the clock
// covers opening the safetensors file(s), checking every tensor and copying
// them into the parameters. bench/pretrained.py runs it.
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>

#include "common/hf_config.h"
#include "common/safetensors.h"
#include "worker/hf_model.h"

int main(int argc, char** argv) {
  using namespace polysweep;
  CLI::App app("Loads a Hugging Face checkpoint into polysweep's model and times it");
  std::string dir;
  int threads = 1;
  app.add_option("--dir", dir, "the model directory")->required();
  app.add_option("--threads", threads, "LibTorch threads");
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  auto config = ReadHfModelConfig(dir);
  if (!config.ok()) return std::cerr << config.status().message() << "\n", 1;
  HfLayout layout;
  {
    auto probe = OpenHfCheckpoint(dir);  // the layout, before the clock
    if (!probe.ok()) return std::cerr << probe.status().message() << "\n", 1;
    layout = probe->layout;
  }
  EncoderClassifier model(HfModelShape(*config, layout, TaskKind::kSequenceClassification, 2, -1));
  const auto start = std::chrono::steady_clock::now();
  auto checkpoint = SafetensorsCheckpoint::Open(dir);
  if (!checkpoint.ok()) return std::cerr << checkpoint.status().message() << "\n", 1;
  Status loaded = LoadHfWeights(model, *config, layout, *checkpoint);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!loaded.ok()) return std::cerr << loaded.message() << "\n", 1;
  // The load really happened: every source tensor is now in its parameter.
  auto params = model->named_parameters();
  for (const HfWeightSource& source : HfWeightSources(*config, layout)) {
    const int64_t rows = params[source.parameter].size(0) / static_cast<int64_t>(source.tensors.size());
    for (size_t k = 0; k < source.tensors.size(); ++k) {
      const SafeTensor* t = checkpoint->Find(source.tensors[k]);
      auto view = torch::from_blob(const_cast<uint8_t*>(t->data), t->shape, torch::kFloat32);
      if (t->dtype != SafeDType::kF32 || !params[source.parameter].narrow(0, static_cast<int64_t>(k) * rows, rows).equal(view)) {
        return std::cerr << source.tensors[k] << " was not loaded into " << source.parameter << "\n", 1;
      }
    }
  }
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  std::cout << "{\"seconds\": " << seconds << ", \"parameters\": " << parameters << "}" << std::endl;
  return 0;
}
