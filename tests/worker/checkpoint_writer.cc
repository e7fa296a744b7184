#include "checkpoint_writer.h"

#include <iostream>

#include "tests/common/solo_communicator.h"
#include "tests/common/test_models.h"
#include "worker/checkpoint.h"

namespace polysweep::testing_util {

int RunCheckpointWriter(const std::string& dir) {
  torch::set_num_threads(1);
  SoloCommunicator comm;
  // About 2.3 M parameters: 9 MB of model and 18 MB of AdamW state per
  // checkpoint, so a write takes long enough for kills to land inside it.
  EncoderClassifier model(TinyShape(8000, 4, 1, 256, 32, 0.0));
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  for (auto& p : model->parameters()) p.mutable_grad() = torch::zeros_like(p);
  opt.step();  // gives the optimizer its moment buffers
  Checkpointer checkpoints(dir, 2, &comm, Logger("checkpoint writer"));
  auto restored = checkpoints.Restore(model, opt);
  if (!restored.ok()) {
    std::cerr << restored.status().message() << "\n";
    return 1;
  }
  int64_t step = *restored ? (*restored)->step : 0;
  while (true) {
    ++step;
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model->parameters()) p.fill_(static_cast<double>(step));
    }
    Status s = checkpoints.Save(model, opt, step, ReaderPosition{0, step});
    if (!s.ok()) {
      std::cerr << s.message() << "\n";
      return 1;
    }
  }
}

}  // namespace polysweep::testing_util
