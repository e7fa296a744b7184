// Checkpoints on one rank: what Save writes is what Restore loads; a flipped
// byte in the newest checkpoint or a half-written one is detected and the
// previous good checkpoint is used; the RNG state comes back; retention
// keeps the newest k.
#include "worker/checkpoint.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <cmath>
#include <fstream>

#include "tests/common/solo_communicator.h"
#include "tests/common/test_models.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

using testing_util::SoloCommunicator;

ModelShape Shape() { return testing_util::TinyShape(50, 3, 1, 16, 8, 0.0); }

torch::Tensor Flat(EncoderClassifier& m) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : m->parameters()) parts.push_back(p.detach().reshape({-1}).clone());
  return torch::cat(parts);
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "checkpoint_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Saves the model as it is after `step` "training" updates.
  void SaveAt(Checkpointer& c, EncoderClassifier& m, torch::optim::AdamW& opt, int64_t step,
              std::optional<double> score = std::nullopt) {
    {
      torch::NoGradGuard g;
      for (auto& p : m->parameters()) p.add_(0.01 * static_cast<double>(step));
    }
    ASSERT_TRUE(c.Save(m, opt, step, ReaderPosition{0, step * 4}, score).ok());
    ASSERT_TRUE(c.Flush().ok());
  }

  std::string dir_;
  SoloCommunicator comm_;
};

TEST_F(CheckpointTest, RestoreLoadsTheNewestAndFallsBackPastACorruptOne) {
  torch::manual_seed(1);
  EncoderClassifier model(Shape());
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  Checkpointer c(dir_, 3, &comm_, Logger("test"));
  SaveAt(c, model, opt, 10);
  const torch::Tensor at10 = Flat(model);
  SaveAt(c, model, opt, 20);
  const torch::Tensor at20 = Flat(model);
  EXPECT_EQ(ListCheckpoints(dir_).size(), 2u);

  torch::manual_seed(2);
  EncoderClassifier fresh(Shape());
  torch::optim::AdamW fresh_opt(fresh->parameters(), torch::optim::AdamWOptions(1e-3));
  auto restored = c.Restore(fresh, fresh_opt);
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  ASSERT_TRUE(restored->has_value());
  EXPECT_EQ((*restored)->step, 20);
  EXPECT_EQ((*restored)->position, "0:80");
  EXPECT_TRUE(torch::equal(Flat(fresh), at20));

  // Flip one byte of the newest checkpoint's model: step 10 is used.
  const std::string model_file = dir_ + "/step-20/model.pt";
  {
    std::fstream f(model_file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(200);
    char ch;
    f.get(ch);
    f.seekp(200);
    f.put(static_cast<char>(ch ^ 0x5a));
  }
  // A half-written newer checkpoint (no manifest) is ignored as well.
  fs::create_directories(dir_ + "/step-30");
  std::ofstream(dir_ + "/step-30/model.pt") << "partial";
  EncoderClassifier again(Shape());
  torch::optim::AdamW again_opt(again->parameters(), torch::optim::AdamWOptions(1e-3));
  auto fallback = c.Restore(again, again_opt);
  ASSERT_TRUE(fallback.ok()) << fallback.status().message();
  ASSERT_TRUE(fallback->has_value());
  EXPECT_EQ((*fallback)->step, 10);
  EXPECT_TRUE(torch::equal(Flat(again), at10));
}

TEST_F(CheckpointTest, RetentionKeepsTheNewestAndNoTemporaryDirectories) {
  EncoderClassifier model(Shape());
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  Checkpointer c(dir_, 2, &comm_, Logger("test"));
  for (int64_t step : {5, 10, 15, 20}) SaveAt(c, model, opt, step);
  auto kept = ListCheckpoints(dir_);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(fs::path(kept[0]).filename(), "step-20");
  EXPECT_EQ(fs::path(kept[1]).filename(), "step-15");
  for (const auto& e : fs::directory_iterator(dir_)) EXPECT_EQ(e.path().extension(), "") << e.path();
  for (const auto& k : kept) EXPECT_TRUE(VerifyCheckpoint(k).ok());
}

// The attempt fence: attempt 1 commits while the directory is its own (or
// unfenced); once the coordinator has given it to attempt 2, attempt 1's
// next checkpoint is refused, naming the later attempt, and neither its own
// step nor attempt 2's checkpoints are touched (no removal by retention).
TEST_F(CheckpointTest, AnAttemptFencedOffByALaterOneCommitsAndRemovesNothing) {
  EncoderClassifier model(Shape());
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  Checkpointer first(dir_, 1, &comm_, Logger("test"), 0, 1);
  SaveAt(first, model, opt, 5);  // no fence yet
  ASSERT_TRUE(WriteAttemptFence(dir_, 1).ok());
  SaveAt(first, model, opt, 10);
  ASSERT_EQ(ListCheckpoints(dir_).size(), 1u);
  ASSERT_TRUE(WriteAttemptFence(dir_, 2).ok());
  Checkpointer second(dir_, 1, &comm_, Logger("test"), 0, 2);
  SaveAt(second, model, opt, 15);
  ASSERT_TRUE(first.Save(model, opt, 20, ReaderPosition{0, 80}).ok());
  const Status refused = first.Flush();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("attempt 2 of this trial has taken its checkpoints over; attempt 1"), std::string::npos)
      << refused.message();
  const auto kept = ListCheckpoints(dir_);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(fs::path(kept[0]).filename(), "step-15");
  EXPECT_FALSE(fs::exists(dir_ + "/step-20.tmp"));
  EXPECT_TRUE(CheckAttemptFence(dir_, 2).ok());
  EXPECT_TRUE(CheckAttemptFence(dir_, 3).ok());
  std::ofstream(dir_ + "/ATTEMPT") << "two\n";
  EXPECT_NE(CheckAttemptFence(dir_, 2).message().find("ATTEMPT: not an attempt number"), std::string::npos);
}

// Retention keeps the newest k and the best-scoring k (higher is better,
// the newer of equal scores), so a trial's best model survives later, worse
// training; unscored checkpoints compete only for "newest".
TEST_F(CheckpointTest, RetentionAlsoKeepsTheBestScoringCheckpoints) {
  EncoderClassifier model(Shape());
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  Checkpointer c(dir_, 2, &comm_, Logger("test"), 2);
  const std::vector<std::pair<int64_t, std::optional<double>>> saves = {
      {10, 0.1}, {20, 0.9}, {25, std::nullopt}, {30, 0.3}, {40, 0.7}, {50, 0.7}, {60, -HUGE_VAL}, {70, 0.2}};
  for (const auto& [step, score] : saves) SaveAt(c, model, opt, step, score);
  std::vector<std::string> kept;
  for (const auto& k : ListCheckpoints(dir_)) kept.push_back(fs::path(k).filename().string());
  // Newest two: 70, 60 (infeasible). Best two: 20 (0.9), then 50 over 40 (0.7, newer).
  EXPECT_EQ(kept, (std::vector<std::string>{"step-70", "step-60", "step-50", "step-20"}));
  auto best = VerifyCheckpoint(dir_ + "/step-20");
  ASSERT_TRUE(best.ok()) << best.status().message();
  ASSERT_TRUE(best->score.has_value());
  EXPECT_DOUBLE_EQ(*best->score, 0.9);
  auto infeasible = VerifyCheckpoint(dir_ + "/step-60");
  ASSERT_TRUE(infeasible.ok());
  ASSERT_TRUE(infeasible->score.has_value());
  EXPECT_LT(*infeasible->score, -1e300);  // -inf, written as the lowest double

  // Without keep_best only the newest stay.
  Checkpointer newest(dir_, 1, &comm_, Logger("test"));
  SaveAt(newest, model, opt, 80, 0.05);
  EXPECT_EQ(ListCheckpoints(dir_).size(), 1u);
}

// Dropout after a resume draws exactly what it would have drawn without the
// interruption: the RNG state is part of the checkpoint.
TEST_F(CheckpointTest, RestoreGivesDropoutTheSameRandomStreamAsBefore) {
  torch::manual_seed(3);
  EncoderClassifier model(testing_util::TinyShape(50, 3, 1, 16, 8, 0.5));
  model->train();
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  Checkpointer c(dir_, 2, &comm_, Logger("test"));
  const torch::Tensor ids = torch::randint(4, 50, {4, 8}, torch::kLong);
  const torch::Tensor pad = torch::zeros({4, 8}, torch::kBool);
  ASSERT_TRUE(c.Save(model, opt, 7, ReaderPosition{0, 28}).ok());
  ASSERT_TRUE(c.Flush().ok());
  const torch::Tensor uninterrupted = model->forward(ids, pad).detach();
  const torch::Tensor next = model->forward(ids, pad).detach();
  ASSERT_FALSE(torch::equal(uninterrupted, next)) << "dropout drew nothing";
  auto r = c.Restore(model, opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(c.rng_restored());
  EXPECT_TRUE(torch::equal(model->forward(ids, pad).detach(), uninterrupted));
}

// Early stopping's count comes back with the checkpoint it was saved with, so
// a resumed trial stops where an uninterrupted one would.
TEST_F(CheckpointTest, EarlyStoppingCountComesBackWithTheCheckpoint) {
  EncoderClassifier model(Shape());
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  Checkpointer c(dir_, 3, &comm_, Logger("test"));
  ASSERT_TRUE(c.Save(model, opt, 10, ReaderPosition{0, 40}).ok());  // before any evaluation
  ASSERT_TRUE(c.Flush().ok());
  ASSERT_TRUE(c.Save(model, opt, 30, ReaderPosition{0, 120}, 0.41, EarlyStopCount{0.47, 2}).ok());
  ASSERT_TRUE(c.Flush().ok());
  auto r = c.Restore(model, opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->step, 30);
  ASSERT_TRUE((*r)->early_stop.best_score.has_value());
  EXPECT_DOUBLE_EQ(*(*r)->early_stop.best_score, 0.47);
  EXPECT_EQ((*r)->early_stop.evals_since_best, 2);
  auto first = VerifyCheckpoint(dir_ + "/step-10");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_FALSE(first->early_stop.best_score.has_value());
  EXPECT_EQ(first->early_stop.evals_since_best, 0);

  // A manifest whose count is negative is refused, naming the file.
  const std::string path = dir_ + "/step-30/MANIFEST.json";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = text.find("\"evals_since_best\": 2");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, std::string("\"evals_since_best\": 2").size(), "\"evals_since_best\": -1");
  auto bad = ParseCheckpointManifest(text, path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("evals_since_best"), std::string::npos) << bad.status().message();
}

TEST_F(CheckpointTest, NoCheckpointMeansAFreshStart) {
  EncoderClassifier model(Shape());
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  Checkpointer c(dir_ + "/none-yet", 2, &comm_, Logger("test"));
  auto r = c.Restore(model, opt);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

}  // namespace
}  // namespace polysweep
