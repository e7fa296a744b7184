// Dynamic int8 quantization (`--quantize int8`): a quantized linear layer
// computes what the fp32 one does within int8's rounding, and a quantized
// encoder (LoRA adapters folded in) classifies as the fp32 one does.
#include "worker/int8.h"

#include <gtest/gtest.h>

#include "tests/common/test_models.h"
#include "worker/batching.h"
#include "worker/model.h"

namespace polysweep {
namespace {

TEST(Int8, ALinearLayerMatchesFp32WithinRounding) {
  ASSERT_TRUE(SelectInt8Engine().ok());
  torch::manual_seed(3);
  const auto weight = torch::randn({96, 64}) * 0.05;
  const auto bias = torch::randn({96});
  const auto x = torch::randn({5, 7, 64});
  const auto packed = PackInt8Linear(weight, bias);
  const auto got = LinearInt8(x, packed);
  const auto want = torch::nn::functional::linear(x, weight, bias);
  ASSERT_EQ(got.sizes(), want.sizes());
  // Weights to 1/254 of each row's range, activations to 1/255 of the batch's.
  const double error = (got - want).abs().max().item<double>();
  EXPECT_LT(error, 0.02 * want.abs().max().item<double>()) << error;
  EXPECT_GT(error, 0.0);  // it really is another computation
}

// The fp32 and the int8 model's logits on the same batch; `quantized`: how
// many linear layers went int8.
std::pair<torch::Tensor, torch::Tensor> Logits(const ModelShape& shape, bool train_lora, int* quantized) {
  torch::manual_seed(17);
  EncoderClassifier model(shape);
  if (train_lora) {
    // Adapters start as a zero update: give them one, as training would.
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) {
      if (p.key().find("_lora.b") != std::string::npos) p.value().normal_(0.0, 0.05);
    }
  }
  model->eval();
  const TokenizedSplit rows = testing_util::SyntheticSplit(64, shape.vocab, shape.classes, 24, 5);
  std::vector<int64_t> all(64);
  for (int64_t i = 0; i < 64; ++i) all[static_cast<size_t>(i)] = i;
  const Batch batch = MakeBatch(rows, all, 0, 24);
  torch::NoGradGuard no_grad;
  const auto fp32 = model->forward(batch.ids, batch.pad);
  auto n = model->QuantizeInt8(kInt8MinInputs);
  EXPECT_TRUE(n.ok());
  *quantized = n.ok() ? *n : -1;
  return {fp32, model->forward(batch.ids, batch.pad)};
}

void ExpectSameClassification(const torch::Tensor& fp32, const torch::Tensor& int8) {
  const double agree = (fp32.argmax(1) == int8.argmax(1)).to(torch::kFloat).mean().item<double>();
  EXPECT_GE(agree, 0.95);
  const double error = (torch::softmax(fp32, 1) - torch::softmax(int8, 1)).abs().max().item<double>();
  EXPECT_LT(error, 0.05) << error;
}

TEST(Int8, AQuantizedEncoderClassifiesAsTheFp32One) {
  int quantized = 0;
  auto [fp32, int8] = Logits(testing_util::TinyShape(500, 4, 2, 512, 24, 0.0), false, &quantized);
  EXPECT_EQ(quantized, 8);  // qkv, out, ff1, ff2 of both layers
  EXPECT_FALSE(torch::equal(fp32, int8));
  ExpectSameClassification(fp32, int8);
}

TEST(Int8, LayersTooNarrowToGainStayFp32) {
  int quantized = -1;
  // hidden 256, FFN 512: only ff2 (512 inputs) of each layer is wide enough.
  auto [fp32, int8] = Logits(testing_util::TinyShape(500, 4, 2, 256, 24, 0.0), false, &quantized);
  EXPECT_EQ(quantized, 2);
  ExpectSameClassification(fp32, int8);
}

TEST(Int8, LoraAdaptersAreFoldedIntoTheQuantizedWeights) {
  const EncoderDims dims{500, 2, 512, 8, 1024, 24};
  LoraSpec lora;
  lora.rank = 4;
  lora.targets = "all";
  const ModelShape shape = MakeModelShape(dims, TaskKind::kSequenceClassification, 4, 0.0, lora);
  int quantized = 0;
  auto [fp32, int8] = Logits(shape, true, &quantized);
  EXPECT_EQ(quantized, 8);
  ExpectSameClassification(fp32, int8);
}

}  // namespace
}  // namespace polysweep
