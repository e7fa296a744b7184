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
    auto probe = SafetensorsCheckpoint::Open(dir);
    if (!probe.ok()) return std::cerr << probe.status().message() << "\n", 1;
    auto found = FindHfLayout(*config, *probe);
    if (!found.ok()) return std::cerr << found.status().message() << "\n", 1;
    layout = *found;
  }
  EncoderClassifier model(HfModelShape(*config, layout, TaskKind::kSequenceClassification, 2, -1));
  const auto start = std::chrono::steady_clock::now();
  auto checkpoint = SafetensorsCheckpoint::Open(dir);
  if (!checkpoint.ok()) return std::cerr << checkpoint.status().message() << "\n", 1;
  Status loaded = LoadHfWeights(model, *config, layout, *checkpoint);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!loaded.ok()) return std::cerr << loaded.message() << "\n", 1;
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  std::cout << "{\"seconds\": " << seconds << ", \"parameters\": " << parameters << "}" << std::endl;
  return 0;
}
