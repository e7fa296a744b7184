// Data-parallel correctness under a real mpirun: the bucketed, overlapped
// all-reduce of per-rank batches equals the single-process gradient of their
// union (masked-LM targets too, unevenly many per rank), accumulated
// micro-batches equal one batch holding them all, a pretrained encoder loaded
// on rank 0 reaches every rank exactly, and the ranks' weights stay
// bit-identical through training.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>

#include "mpi_env.h"
#include "tests/common/test_models.h"
#include "common/sampling.h"
#include "worker/comm/communicator.h"
#include "common/files.h"
#include "common/model_package.h"
#include "worker/dataset.h"
#include "worker/init_weights.h"
#include "worker/masking.h"
#include "worker/train_step.h"

namespace polysweep {
namespace {

constexpr int kPad = 3;

ModelShape SmallShape(double dropout) { return testing_util::TinyShape(200, 5, 2, 32, 16, dropout); }

// Ids of 2..15 tokens (the union batch pads further than each rank's).
TokenizedSplit Synthetic(int n, uint64_t seed) { return testing_util::SyntheticSplit(n, 200, 5, 15, seed); }

std::vector<int64_t> Range(int64_t begin, int64_t end) {
  std::vector<int64_t> v;
  for (int64_t i = begin; i < end; ++i) v.push_back(i);
  return v;
}

std::unique_ptr<Communicator> Comm() {
  auto comm = MakeCommunicator("mpi", TestMpi());
  EXPECT_TRUE(comm.ok()) << comm.status().message();
  return std::move(*comm);
}

// Small buckets, so even the tiny test model is split into many.
BucketOptions SmallBuckets() {
  BucketOptions o;
  o.first_bucket_bytes = 2048;
  o.bucket_bytes = 8192;
  return o;
}

// This rank's part of a data-parallel backward: the gradient sync of the
// loss sum over `local` (which may be empty). Returns the union mean loss.
double SyncedBackward(DataParallelStep& step, const Batch& local, int64_t* counted = nullptr) {
  auto& sync = step.sync();
  sync.ZeroGrad();
  LossSum loss;
  if (local.labels.size(0) > 0) {
    // As the training step does (a per-token head sees the scored positions only).
    auto scored = step.model()->ForwardScored(local.ids, local.pad, local.labels);
    loss = HeadLoss(scored.logits, scored.targets);
  }
  if (counted) *counted = loss.count;
  if (loss.count == 0) {
    sync.BeginBackward(0, 0, true);
  } else {
    sync.BeginBackward(loss.sum.item<double>(), loss.count, true);
    loss.sum.backward();
  }
  auto mean = sync.Finish();
  EXPECT_TRUE(mean.ok()) << mean.status().message();
  return mean.ok() ? *mean : -1;
}

torch::Tensor Flat(EncoderClassifier& model, bool grads) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : model->parameters()) parts.push_back((grads ? p.grad() : p).detach().reshape({-1}).clone());
  return torch::cat(parts);
}

// Every rank gets rank 0's copy of `t`, to compare against its own.
torch::Tensor FromRankZero(Communicator& comm, const torch::Tensor& t) {
  auto copy = t.clone().contiguous();
  EXPECT_TRUE(comm.Broadcast(copy.data_ptr(), static_cast<size_t>(copy.nbytes()), 0).ok());
  return copy;
}

// `steps` optimizer steps over `data` in sampling order, 8 examples a step
// split over the ranks, at learning rate `lr`.
void Train(DataParallelStep& step, Communicator& comm, const TokenizedSplit& data, int steps, double lr) {
  const auto order = EpochOrder({data.size()}, 1.0, 1, 0);
  ReaderPosition pos;
  for (int s = 0; s < steps; ++s) {
    StepSlice slice = SliceForRank(data.size(), pos, 8, comm.rank(), comm.size());
    Batch b = MakeBatch(data, std::vector<int64_t>(order.begin() + slice.begin, order.begin() + slice.end), kPad, 16);
    ASSERT_TRUE(step.Step(b, lr).ok());
    pos = Advance(pos, slice.global, data.size());
  }
}

TEST(DataParallel, AllReducedGradientsEqualTheUnionBatchGradient) {
  auto comm = Comm();
  const int world = comm->size(), batch = 6;
  TokenizedSplit data = Synthetic(world * batch, 11);
  TrainingParams params;
  params.seed = 5;
  DataParallelStep step(SmallShape(0.0), params, comm.get(), SmallBuckets());
  ASSERT_TRUE(step.Init().ok());
  auto& model = step.model();
  model->train();
  ASSERT_GT(step.sync().buckets(), 4u);

  Batch local = MakeBatch(data, Range(comm->rank() * batch, (comm->rank() + 1) * batch), kPad, 16);
  const double mean_loss = SyncedBackward(step, local);
  // The buckets were started from the backward pass, not after it.
  EXPECT_GT(step.sync().started_in_backward(), step.sync().buckets() / 2);
  torch::Tensor reduced = Flat(model, true);

  Batch whole = MakeBatch(data, Range(0, world * batch), kPad, 16);
  model->zero_grad();
  auto union_loss = torch::nn::functional::cross_entropy(model->forward(whole.ids, whole.pad), whole.labels);
  union_loss.backward();
  torch::Tensor single = Flat(model, true);

  EXPECT_NEAR(mean_loss, union_loss.item<double>(), 1e-5);
  const double max_diff = (reduced - single).abs().max().item<double>();
  const double scale = single.abs().max().item<double>();
  EXPECT_GT(scale, 0);
  EXPECT_LT(max_diff, 1e-5 * std::max(1.0, scale)) << "max |reduced - single| = " << max_diff;
}

// masked_lm: each rank scores a different number of masked tokens, and the
// all-reduced gradient is still that of the mean loss over the union's
// masked tokens.
TEST(DataParallel, MaskedLmGradientsEqualTheUnionOfUnevenlyMaskedBatches) {
  auto comm = Comm();
  const int world = comm->size(), batch = 6;
  TokenizedSplit data = Synthetic(world * batch, 17);
  TrainingParams params;
  params.seed = 5;
  ModelShape shape = SmallShape(0.0);
  shape.task = TaskKind::kMaskedLm;
  DataParallelStep step(shape, params, comm.get(), SmallBuckets());
  ASSERT_TRUE(step.Init().ok());
  auto& model = step.model();
  model->train();
  // Every rank masks the union alike and takes its own rows of it.
  Batch whole = MakeBatch(data, Range(0, world * batch), kPad, 16);
  MaskTokens(&whole, 0.3, kPad, 200, 99);
  Batch local;
  local.ids = whole.ids.narrow(0, comm->rank() * batch, batch);
  local.pad = whole.pad.narrow(0, comm->rank() * batch, batch);
  local.labels = whole.labels.narrow(0, comm->rank() * batch, batch);
  int64_t mine = 0;
  const double mean_loss = SyncedBackward(step, local, &mine);
  torch::Tensor reduced = Flat(model, true);
  // The ranks' counts differ (else this would not test the rescaling).
  float counts[2] = {static_cast<float>(mine), static_cast<float>(mine) * static_cast<float>(mine)};
  ASSERT_TRUE(comm->AllReduceSum(counts, 2).ok());
  EXPECT_GT(counts[1] * static_cast<float>(world), counts[0] * counts[0]) << "every rank masked as many tokens";

  model->zero_grad();
  LossSum all = HeadLoss(model->forward(whole.ids, whole.pad), whole.labels);
  EXPECT_EQ(static_cast<float>(all.count), counts[0]);
  auto union_loss = all.sum / static_cast<double>(all.count);
  union_loss.backward();
  torch::Tensor single = Flat(model, true);
  EXPECT_NEAR(mean_loss, union_loss.item<double>(), 1e-4);
  const double max_diff = (reduced - single).abs().max().item<double>();
  const double scale = single.abs().max().item<double>();
  EXPECT_GT(scale, 0);
  EXPECT_LT(max_diff, 1e-5 * std::max(1.0, scale)) << "max |reduced - single| = " << max_diff;
}

// The pretrain -> fine-tune chain across ranks: rank 0 loads a saved
// masked-language model's encoder (model.init, as `polysweep pretrain`
// exports it) and the start-of-trial broadcast gives every rank exactly its
// tensors; the classification head is fresh and the same on every rank.
TEST(DataParallel, APretrainedEncoderLoadedOnRankZeroReachesEveryRankExactly) {
  auto comm = Comm();
  ModelShape pretrain = SmallShape(0.0);
  pretrain.task = TaskKind::kMaskedLm;
  torch::manual_seed(42);
  EncoderClassifier saved(pretrain);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : saved->parameters()) p.add_(0.125);  // weights no initialisation gives
  }
  int64_t id = comm->rank() == 0 ? getpid() : 0;
  ASSERT_TRUE(comm->Broadcast(&id, sizeof id, 0).ok());
  const std::string dir = ::testing::TempDir() + "mpi-pretrained-" + std::to_string(id);
  if (comm->rank() == 0) {
    std::filesystem::create_directories(dir);
    torch::save(saved, dir + "/model.pt");
    std::ofstream(dir + "/tokenizer.model") << "not read here";
    ModelPackage p;
    p.task = ModelPackage::kMaskedLm;
    p.vocab = pretrain.vocab;
    p.layers = pretrain.layers;
    p.hidden = pretrain.hidden;
    p.heads = pretrain.heads;
    p.ffn = pretrain.ffn;
    p.max_length = pretrain.max_length;
    ASSERT_TRUE(WriteFileAtomic(dir + "/model.json", ModelPackageToJson(p)).ok());
  }
  TrainingParams params;
  params.seed = 7 + comm->rank();  // the ranks' own initialisations differ until Init()
  DataParallelStep step(SmallShape(0.0), params, comm.get());
  if (comm->rank() == 0) {
    auto loaded = LoadEncoderWeights(step.model(), dir);
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
  }
  ASSERT_TRUE(step.Init().ok());
  auto from = saved->named_parameters();
  int compared = 0;
  for (const auto& item : step.model()->named_parameters()) {
    if (item.key().rfind("head.", 0) == 0) {
      EXPECT_TRUE(torch::equal(item.value(), FromRankZero(*comm, item.value()))) << item.key();
      continue;
    }
    EXPECT_TRUE(torch::equal(item.value(), from[item.key()])) << item.key() << " on rank " << comm->rank();
    ++compared;
  }
  EXPECT_EQ(compared, 4 + 2 * 12);
  ASSERT_TRUE(comm->Barrier().ok());
  if (comm->rank() == 0) std::filesystem::remove_all(dir);
}

TEST(DataParallel, WeightsStayBitIdenticalAcrossRanksWhileTraining) {
  auto comm = Comm();
  TokenizedSplit data = Synthetic(400, 21);
  TrainingParams params;
  params.seed = 9;
  params.dropout = 0.1;
  DataParallelStep step(SmallShape(0.1), params, comm.get());
  ASSERT_TRUE(step.Init().ok());
  torch::Tensor before = Flat(step.model(), false);
  EXPECT_TRUE(torch::equal(before, FromRankZero(*comm, before)));
  Train(step, *comm, data, 8, 1e-3);
  torch::Tensor after = Flat(step.model(), false);
  EXPECT_FALSE(torch::equal(before, after)) << "training did not change the weights";
  EXPECT_TRUE(torch::equal(after, FromRankZero(*comm, after))) << "ranks diverged";
}

// The last step of an epoch splits what is left unevenly, and some ranks may
// get nothing: the example-weighted all-reduce still gives the union gradient.
TEST(DataParallel, UnevenBatchesStillGiveTheUnionGradient) {
  auto comm = Comm();
  const int world = comm->size();
  // Rank 0 holds two examples, rank 1 one, any further rank none.
  std::vector<int64_t> counts(static_cast<size_t>(world), 0);
  counts[0] = 2;
  counts[1] = 1;
  const int64_t total = 3;
  int64_t begin = 0;
  for (int r = 0; r < comm->rank(); ++r) begin += counts[static_cast<size_t>(r)];
  const int64_t count = counts[static_cast<size_t>(comm->rank())];
  TokenizedSplit data = Synthetic(static_cast<int>(total), 41);
  TrainingParams params;
  params.seed = 2;
  DataParallelStep step(SmallShape(0.0), params, comm.get(), SmallBuckets());
  ASSERT_TRUE(step.Init().ok());
  auto& model = step.model();
  model->train();
  const double mean_loss = SyncedBackward(step, MakeBatch(data, Range(begin, begin + count), kPad, 16));
  torch::Tensor reduced = Flat(model, true);

  Batch whole = MakeBatch(data, Range(0, total), kPad, 16);
  model->zero_grad();
  auto union_loss = torch::nn::functional::cross_entropy(model->forward(whole.ids, whole.pad), whole.labels);
  union_loss.backward();
  torch::Tensor single = Flat(model, true);
  EXPECT_NEAR(mean_loss, union_loss.item<double>(), 1e-5);
  EXPECT_LT((reduced - single).abs().max().item<double>(), 1e-5 * std::max(1.0, single.abs().max().item<double>()));
}

// Gradient accumulation: three micro-batches per rank (of uneven sizes) give
// the loss and the gradient of one batch holding all three.
TEST(DataParallel, AccumulatedMicroBatchesEqualOneLargeBatch) {
  auto comm = Comm();
  TokenizedSplit data = Synthetic(comm->size() * 12, 51);
  TrainingParams params;
  params.seed = 4;
  params.grad_clip = 0;
  // 3 micro-batches of batch_size 4 expected: the accumulated step's counts
  // match (no rescaling), the single batch of 12 does not (rescaled).
  params.batch_size = 4;
  DataParallelStep accumulated(SmallShape(0.0), params, comm.get(), SmallBuckets());
  DataParallelStep whole(SmallShape(0.0), params, comm.get());
  ASSERT_TRUE(accumulated.Init().ok());
  ASSERT_TRUE(whole.Init().ok());
  ASSERT_TRUE(torch::equal(Flat(accumulated.model(), false), Flat(whole.model(), false)));
  const int64_t base = comm->rank() * 12;
  std::vector<Batch> micro = {MakeBatch(data, Range(base, base + 3), kPad, 16),
                              MakeBatch(data, Range(base + 3, base + 8), kPad, 16),
                              MakeBatch(data, Range(base + 8, base + 12), kPad, 16)};
  auto loss_micro = accumulated.Step(micro, 1e-3);
  auto loss_whole = whole.Step(MakeBatch(data, Range(base, base + 12), kPad, 16), 1e-3);
  ASSERT_TRUE(loss_micro.ok() && loss_whole.ok());
  EXPECT_NEAR(*loss_micro, *loss_whole, 1e-5);
  const torch::Tensor g1 = Flat(accumulated.model(), true), g2 = Flat(whole.model(), true);
  EXPECT_LT((g1 - g2).abs().max().item<double>(), 1e-5 * std::max(1.0, g2.abs().max().item<double>()));
  // (Weights are not compared: AdamW's first step is lr * g / |g|, which
  // turns float rounding in near-zero gradients into steps of up to lr.)
  EXPECT_FALSE(torch::equal(Flat(accumulated.model(), false), Flat(DataParallelStep(SmallShape(0.0), params, comm.get()).model(), false)))
      << "the step did not move the weights";
}

// Overlap changes when buckets start, not what they sum: the gradients with
// every bucket started after backward are bit-identical.
TEST(DataParallel, OverlapOffGivesBitIdenticalGradients) {
  auto comm = Comm();
  TokenizedSplit data = Synthetic(comm->size() * 6, 61);
  TrainingParams params;
  params.seed = 6;
  BucketOptions after = SmallBuckets();
  after.overlap = false;
  DataParallelStep overlapped(SmallShape(0.0), params, comm.get(), SmallBuckets());
  DataParallelStep serial(SmallShape(0.0), params, comm.get(), after);
  ASSERT_TRUE(overlapped.Init().ok());
  ASSERT_TRUE(serial.Init().ok());
  overlapped.model()->train();
  serial.model()->train();
  Batch local = MakeBatch(data, Range(comm->rank() * 6, comm->rank() * 6 + 6), kPad, 16);
  SyncedBackward(overlapped, local);
  SyncedBackward(serial, local);
  EXPECT_GT(overlapped.sync().started_in_backward(), 0u);
  EXPECT_EQ(serial.sync().started_in_backward(), 0u);
  EXPECT_TRUE(torch::equal(Flat(overlapped.model(), true), Flat(serial.model(), true)));
}

// The check above can fail: ranks that skip the all-reduce diverge at once.
TEST(DataParallel, WithoutGradientSyncRanksDiverge) {
  auto comm = Comm();
  ASSERT_GE(comm->size(), 2) << "run this suite with mpirun -np 2 or more";
  TokenizedSplit data = Synthetic(64, 31);
  TrainingParams params;
  params.seed = 9;
  torch::manual_seed(9);
  EncoderClassifier model(SmallShape(0.0));
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  Batch b = MakeBatch(data, Range(comm->rank() * 8, (comm->rank() + 1) * 8), kPad, 16);
  opt.zero_grad();
  torch::nn::functional::cross_entropy(model->forward(b.ids, b.pad), b.labels).backward();
  opt.step();
  torch::Tensor w = Flat(model, false);
  if (comm->rank() != 0) EXPECT_FALSE(torch::equal(w, FromRankZero(*comm, w)));
  else FromRankZero(*comm, w);
}

}  // namespace
}  // namespace polysweep

namespace polysweep {
namespace {

// Freezing the embeddings and the bottom layer: those weights stay
// bit-identical through training, get no gradient and are not all-reduced;
// everything else trains and stays identical across ranks.
TEST(DataParallel, FrozenParametersStayBitIdenticalAndAreNotAllReduced) {
  auto comm = Comm();
  TokenizedSplit data = Synthetic(400, 61);
  TrainingParams params;
  params.seed = 5;
  params.freeze_embeddings = true;
  params.freeze_layers = 1;
  DataParallelStep step(SmallShape(0.1), params, comm.get(), SmallBuckets());
  ASSERT_TRUE(step.Init().ok());
  std::map<std::string, torch::Tensor> frozen, trained;
  int64_t trainable_numel = 0;
  for (const auto& item : step.model()->named_parameters()) {
    const std::string& name = item.key();
    const bool is_frozen = name.rfind("tokens.", 0) == 0 || name.rfind("positions.", 0) == 0 ||
                           name.rfind("norm.", 0) == 0 || name.rfind("layers.0.", 0) == 0;
    EXPECT_EQ(item.value().requires_grad(), !is_frozen) << name;
    (is_frozen ? frozen : trained)[name] = item.value().detach().clone();
    if (!is_frozen) trainable_numel += item.value().numel();
  }
  ASSERT_FALSE(frozen.empty());
  ASSERT_FALSE(trained.empty());
  EXPECT_EQ(static_cast<int64_t>(step.sync().numel()), trainable_numel) << "frozen weights would be all-reduced";
  Train(step, *comm, data, 5, 1e-2);
  for (const auto& item : step.model()->named_parameters()) {
    const std::string& name = item.key();
    if (frozen.count(name)) {
      EXPECT_TRUE(torch::equal(item.value(), frozen[name])) << name << " changed though frozen";
      EXPECT_FALSE(item.value().grad().defined()) << name << " has a gradient though frozen";
    } else {
      EXPECT_FALSE(torch::equal(item.value(), trained[name])) << name << " did not train";
    }
  }
  torch::Tensor after = Flat(step.model(), false);
  EXPECT_TRUE(torch::equal(after, FromRankZero(*comm, after))) << "ranks diverged";
}


// LoRA: the base model is frozen bit for bit; only the adapters (which
// start as a zero update) and the head train, and only their gradients are
// all-reduced.
TEST(DataParallel, LoraTrainsOnlyAdaptersAndTheHeadAndAllReducesOnlyThem) {
  auto comm = Comm();
  TokenizedSplit data = Synthetic(400, 71);
  TrainingParams params;
  params.seed = 6;
  params.lora = true;
  ModelShape shape = SmallShape(0.0);
  shape.lora = LoraSpec{4, 8, "all"};
  DataParallelStep step(shape, params, comm.get(), SmallBuckets());
  ASSERT_TRUE(step.Init().ok());
  std::map<std::string, torch::Tensor> before;
  int64_t trained_numel = 0, adapters = 0;
  for (const auto& item : step.model()->named_parameters()) {
    const std::string& name = item.key();
    const bool adapter = name.find("_lora.") != std::string::npos;
    const bool trained = adapter || name.rfind("head.", 0) == 0;
    EXPECT_EQ(item.value().requires_grad(), trained) << name;
    if (trained) trained_numel += item.value().numel();
    if (adapter) ++adapters;
    // B starts at zero: the adapted model starts as the base model.
    if (adapter && name.substr(name.size() - 2) == ".b") {
      EXPECT_EQ(item.value().abs().sum().item<double>(), 0.0) << name;
    }
    before[name] = item.value().detach().clone();
  }
  EXPECT_EQ(adapters, 2 * 4 * shape.layers) << "an A and a B on qkv, out, ff1 and ff2 of every layer";
  EXPECT_EQ(static_cast<int64_t>(step.sync().numel()), trained_numel) << "only adapters and head are all-reduced";
  Train(step, *comm, data, 5, 1e-2);
  for (const auto& item : step.model()->named_parameters()) {
    const std::string& name = item.key();
    if (item.value().requires_grad()) {
      EXPECT_FALSE(torch::equal(item.value(), before[name])) << name << " did not train";
    } else {
      EXPECT_TRUE(torch::equal(item.value(), before[name])) << name << " changed though frozen";
    }
  }
  torch::Tensor after = Flat(step.model(), false);
  EXPECT_TRUE(torch::equal(after, FromRankZero(*comm, after))) << "ranks diverged";
}

}  // namespace
}  // namespace polysweep
