// Word features (common/word_features.h): lowercase and shape across
// scripts, the hashes a word shares with words of its ending, and their way
// into the shards (version 4) and onto every piece of their word.
#include "common/word_features.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdlib.h>

#include <filesystem>
#include <set>

#include "cli/config_names.h"
#include "common/config.h"
#include "common/model_package.h"
#include "common/shard.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

TEST(WordFeatures, LowercaseCoversLatinGreekAndCyrillicCapitals) {
  EXPECT_EQ(LowerWord("Paris"), "paris");
  EXPECT_EQ(LowerWord("ÄRGER"), "ärger");
  EXPECT_EQ(LowerWord("ΑΘΗΝΑ"), "αθηνα");
  EXPECT_EQ(LowerWord("МОСКВА"), "москва");
  EXPECT_EQ(LowerWord("ЁЖ"), "ёж");
  EXPECT_EQ(LowerWord("東京"), "東京");  // no case: unchanged
  EXPECT_EQ(LowerWord("×"), "×");        // the multiplication sign is no letter
}

TEST(WordFeatures, ShapeCutsEachRunAtThree) {
  EXPECT_EQ(WordShape("Paris"), "Xxxx");
  EXPECT_EQ(WordShape("2024"), "ddd");
  EXPECT_EQ(WordShape("12,50"), "dd,dd");
  EXPECT_EQ(WordShape("U.S.A."), "X.X.X.");
  EXPECT_EQ(WordShape("e-Mail"), "x-Xxxx");
  EXPECT_EQ(WordShape("Über"), "Xxxx");
  EXPECT_EQ(WordShape("Москва"), "Xxxx");
  EXPECT_EQ(WordShape("«"), "«");
}

TEST(WordFeatures, WordsShareTheHashesOfWhatTheyShare) {
  const WordFeatureHashes walked = HashWordFeatures("walked"), talked = HashWordFeatures("talked"),
                          walks = HashWordFeatures("walks"), upper = HashWordFeatures("Walked");
  EXPECT_NE(walked[0], talked[0]);  // the words differ
  for (int k = 4; k <= 7; ++k) EXPECT_EQ(walked[k], talked[k]) << "suffix of " << k - 3;  // "d", "ed", "ked", "lked"
  for (int k = 1; k <= 3; ++k) EXPECT_EQ(walked[k], walks[k]) << "prefix of " << k;       // "w", "wa", "wal"
  EXPECT_NE(walked[7], walks[7]);
  for (int k = 0; k < 8; ++k) EXPECT_EQ(walked[k], upper[k]) << k;  // all but the shape are of the lowercase
  EXPECT_NE(walked[8], upper[8]);                                   // "xxx" against "Xxxx"
  // A one-letter prefix and a one-letter suffix of the same letter are different features.
  const WordFeatureHashes a = HashWordFeatures("a");
  EXPECT_NE(a[1], a[4]);
  // Never "no feature" but the language's without one; the same on every
  // run (a fixed function of the bytes).
  for (int k = 0; k < 9; ++k) EXPECT_NE(walked[k], kNoFeature);
  EXPECT_EQ(walked[9], kNoFeature);
  const WordFeatureHashes de = HashWordFeatures("walked", "de"), nl = HashWordFeatures("walked", "nl");
  EXPECT_NE(de[9], kNoFeature);
  EXPECT_NE(de[9], nl[9]);
  EXPECT_EQ(de[9], HashWordFeatures("die", "de")[9]);  // the sentence's language: the same for every word
  for (int k = 0; k < 9; ++k) EXPECT_EQ(de[k], nl[k]) << "the word's own features do not depend on it";
  EXPECT_EQ(HashWordFeatures("walked"), walked);
  // Code points, not bytes: the last two characters of "Straße".
  EXPECT_EQ(HashWordFeatures("Straße")[5], HashWordFeatures("Buße")[5]);
  EXPECT_NE(HashWordFeatures("Straße")[5], HashWordFeatures("Busse")[5]);
}

TEST(WordFeatures, EveryPieceOfAWordCarriesItsWordsFeatures) {
  // [CLS] ber ##lin ist [SEP]: pieces of word 0, 0, 1 between the frame.
  const std::vector<uint32_t> f = PieceWordFeatures({"Berlin", "ist"}, {-1, 0, 0, 1, -1}, "de");
  ASSERT_EQ(f.size(), 5u * kWordFeatures);
  const WordFeatureHashes berlin = HashWordFeatures("Berlin", "de"), ist = HashWordFeatures("ist", "de");
  const auto berlin_context = HashContextFeatures({"Berlin", "ist"}, 0), ist_context = HashContextFeatures({"Berlin", "ist"}, 1);
  for (int k = 0; k < kWordFeatures; ++k) {
    const bool own = k < kOwnWordFeatures;
    EXPECT_EQ(f[0 * kWordFeatures + k], kNoFeature);
    EXPECT_EQ(f[1 * kWordFeatures + k], own ? berlin[k] : berlin_context[k - kOwnWordFeatures]);
    EXPECT_EQ(f[2 * kWordFeatures + k], own ? berlin[k] : berlin_context[k - kOwnWordFeatures]);
    EXPECT_EQ(f[3 * kWordFeatures + k], own ? ist[k] : ist_context[k - kOwnWordFeatures]);
    EXPECT_EQ(f[4 * kWordFeatures + k], kNoFeature);
  }
}

// A word's context: the word before's lowercase form and last three
// characters, then the word after's, and one hash for the sentence's edge,
// as the perceptron's context features describe a word.
TEST(WordFeatures, ContextIsTheNeighboursFormAndEndingOrTheSentencesEdge) {
  const std::vector<std::string> a = {"The", "dog", "walked", "home"}, b = {"the", "cat", "talked", "."};
  const auto dog = HashContextFeatures(a, 1), cat = HashContextFeatures(b, 1);
  EXPECT_EQ(dog[0], cat[0]);  // both follow "the", in any case
  EXPECT_EQ(dog[1], cat[1]);
  EXPECT_NE(dog[2], cat[2]);  // "walked" and "talked" precede them: different words ...
  EXPECT_EQ(dog[3], cat[3]);  // ... with the same ending "ked"
  const auto first = HashContextFeatures(a, 0), last = HashContextFeatures(a, 3), alone = HashContextFeatures({"x"}, 0);
  EXPECT_EQ(first[0], alone[0]);  // nothing before: the edge
  EXPECT_EQ(last[2], alone[2]);   // nothing after: the edge
  EXPECT_NE(first[0], last[0]);
  EXPECT_NE(first[2], dog[2]);
  // Not the word's own features: "the" before a word is not the word "the".
  EXPECT_NE(dog[0], HashWordFeatures("the")[0]);
  for (uint32_t h : first) EXPECT_NE(h, kNoFeature);
}

TEST(WordFeatures, ShardsCarryThemAsVersionFourWithOrWithoutPairs) {
  std::string tmpl = ::testing::TempDir() + "word_features_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;
  for (const bool pairs : {false, true}) {
    ShardData d;
    std::vector<uint32_t> expected;
    for (int i = 0; i < 7; ++i) {
      const std::vector<int> ids(static_cast<size_t>(i % 3 + 2), 10 + i);
      if (pairs) d.AddPair(ids, std::vector<int32_t>(ids.size(), i), 1, 1);
      else d.Add(ids, std::vector<int32_t>(ids.size(), i), 1);
      for (size_t t = 0; t < ids.size() * kWordFeatures; ++t) expected.push_back(static_cast<uint32_t>(1000 * i + t));
      d.features.insert(d.features.end(), expected.end() - static_cast<std::ptrdiff_t>(ids.size() * kWordFeatures),
                        expected.end());
    }
    const std::string path = dir + (pairs ? "/pairs.bin" : "/single.bin");
    auto info = WriteShard(path, d);
    ASSERT_TRUE(info.ok()) << info.status().message();
    auto s = MappedShard::Open(path, ChecksumHex(info->checksum));
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ((*s)->version(), 4u);
    EXPECT_EQ((*s)->has_pairs(), pairs);
    ASSERT_EQ((*s)->feature_width(), static_cast<uint32_t>(kWordFeatures));
    size_t at = 0;
    for (uint64_t i = 0; i < (*s)->size(); ++i) {
      if (pairs) EXPECT_EQ((*s)->pair_start(i), 1u);
      for (uint64_t t = 0; t < (*s)->length(i) * kWordFeatures; ++t) ASSERT_EQ((*s)->features(i)[t], expected[at++]);
    }
    // One feature too few for the tokens is refused before anything is written.
    d.features.pop_back();
    auto short_by_one = WriteShard(dir + "/short.bin", d);
    ASSERT_FALSE(short_by_one.ok());
    EXPECT_NE(short_by_one.status().message().find("word features for"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir + "/short.bin"));
    // A file cut short is refused at open.
    fs::resize_file(path, fs::file_size(path) - 4);
    EXPECT_FALSE(MappedShard::Open(path).ok());
  }
  fs::remove_all(dir);
}

// model.word_features: a tagger's; refused for another task, naming the
// key and its line; word_dropout a hyperparameter a search may vary.
TEST(WordFeaturesConfig, OnlyATaggerReadsThem) {
  const std::string rest =
      "search: {space: {word_dropout: {type: uniform, low: 0.1, high: 0.4}}}\nbudget: {max_steps: 10}\n";
  auto tagger = ParseSweepConfig("name: t\ndata: {files: [d.conll], format: conll, lang: de}\n"
                                 "model: {task: token_classification, word_features: 4096}\n" + rest,
                                 "c.yaml", RegisteredConfigNames());
  ASSERT_TRUE(tagger.ok()) << tagger.status().message();
  EXPECT_EQ(tagger->model.word_features, 4096);
  auto classifier = ParseSweepConfig("name: t\ndata: {files: [d.jsonl]}\nmodel:\n  word_features: 4096\n" + rest,
                                     "c.yaml", RegisteredConfigNames());
  ASSERT_FALSE(classifier.ok());
  EXPECT_NE(classifier.status().message().find("c.yaml:4: model.word_features: word features are read by token "
                                               "classification only"),
            std::string::npos)
      << classifier.status().message();
}

// An exported tagger's model.json records its word feature rows, which
// predict and evaluate build the model with.
TEST(WordFeaturesConfig, TheModelPackageRecordsThem) {
  ModelPackage p;
  p.task = TaskKindName(TaskKind::kTokenClassification);
  p.vocab = 100;
  p.layers = 1;
  p.hidden = p.heads = p.ffn = 8;
  p.max_length = 16;
  p.labels = {"NN", "VB"};
  p.word_features = 4096;
  const std::string json = ModelPackageToJson(p);
  auto back = ParseModelPackage(json, "model.json");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->word_features, 4096);
  EXPECT_EQ(back->word_feature_width, kWordFeatures);
  // A tagger exported before the context features has no width: it read its words' own.
  nlohmann::json older = nlohmann::json::parse(json);
  older["model"].erase("word_feature_width");
  auto old_back = ParseModelPackage(older.dump(), "model.json");
  ASSERT_TRUE(old_back.ok()) << old_back.status().message();
  EXPECT_EQ(old_back->word_feature_width, kOwnWordFeatures);
  older["model"]["word_feature_width"] = kWordFeatures + 1;
  EXPECT_EQ(ParseModelPackage(older.dump(), "model.json").status().message(),
            "model.json: model.word_feature_width: must be 1 to " + std::to_string(kWordFeatures) +
                " (the word features this polysweep computes)");
  p.word_features = 0;
  EXPECT_EQ(ModelPackageToJson(p).find("word_features"), std::string::npos) << "absent when 0, as before";
  std::string negative = json;
  negative.replace(negative.find("4096"), 4, "-1");
  auto bad = ParseModelPackage(negative, "model.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "model.json: model.word_features: must not be negative");
}

}  // namespace
}  // namespace polysweep
