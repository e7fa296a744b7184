// A benchmark's published split kept instead of the hash split: a split
// field (JSONL field or TSV column) naming each row's split, and whole files
// given as data.train, data.valid and data.test; what is refused, naming
// the file, line and key, with nothing written.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/config_names.h"
#include "common/config.h"
#include "tests/unit/shard_fixture.h"

namespace polysweep {
namespace {

using nlohmann::json;

// The sample with a "split" field: every fifth row test, every fifth from
// the second valid (under the name `valid_name`), the rest train; and the
// counts per language and split that must come out.
std::vector<std::string> WithSplitField(const std::string& valid_name,
                                        std::map<std::string, std::array<int64_t, 3>>* expected) {
  std::vector<std::string> out;
  for (size_t i = 0; i < Sample().size(); ++i) {
    json r = json::parse(Sample()[i]);
    const Split s = i % 5 == 0 ? kTest : i % 5 == 1 ? kValid : kTrain;
    r["split"] = s == kTest ? "test" : s == kValid ? valid_name : "train";
    (*expected)[r["lang"].get<std::string>()][s]++;
    out.push_back(r.dump());
  }
  return out;
}

TEST_F(ShardTest, ASplitFieldPutsEachRowInTheSplitItNames) {
  std::map<std::string, std::array<int64_t, 3>> expected;
  config_.files = {Write("split.jsonl", WithSplitField("validation", &expected))};
  config_.split_field = "split";
  auto data = Prepare();
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(data->counts, expected);  // the field decides, not the group's hash
}

TEST_F(ShardTest, ASplitColumnOfATsvFileDoesTheSame) {
  std::map<std::string, std::array<int64_t, 3>> expected;
  std::vector<std::string> lines = {"lang\tlabel\tsplit\ttext"};
  for (const auto& l : WithSplitField("dev", &expected)) {
    const json r = json::parse(l);
    std::string text = r["text"].get<std::string>();
    for (char& c : text) c = c == '\t' ? ' ' : c;
    lines.push_back(r["lang"].get<std::string>() + "\t" + r["label"].get<std::string>() + "\t" +
                    r["split"].get<std::string>() + "\t" + text);
  }
  config_.files = {Write("split.tsv", lines)};
  config_.group_field.clear();
  config_.split_field = "split";
  auto data = Prepare();
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(data->counts, expected);
}

TEST_F(ShardTest, AnUnknownOrMissingSplitIsRefusedNamingFileLineAndField) {
  std::map<std::string, std::array<int64_t, 3>> expected;
  std::vector<std::string> lines = WithSplitField("valid", &expected);
  lines[3] = R"({"text": "Ein Text", "label": "games", "lang": "de", "group": "g", "split": "holdout"})";
  const std::string file = Write("bad-split.jsonl", lines);
  config_.files = {file};
  config_.split_field = "split";
  ExpectFailure(file + ":4: data.split_field \"split\": unknown split \"holdout\" (train, valid, validation, dev or test)");
  lines[3] = R"({"text": "Ein Text", "label": "games", "lang": "de", "group": "g"})";
  const std::string missing = Write("no-split.jsonl", lines);
  config_.files = {missing};
  ExpectFailure(missing + ":4: missing field \"split\"");
}

TEST_F(ShardTest, TrainValidAndTestFilesKeepTheirSplits) {
  const std::vector<std::string>& all = Sample();
  std::vector<std::string> train, valid, test;
  std::map<std::string, std::array<int64_t, 3>> expected;
  for (size_t i = 0; i < all.size(); ++i) {
    const Split s = i % 4 == 0 ? kValid : i % 4 == 1 ? kTest : kTrain;
    (s == kValid ? valid : s == kTest ? test : train).push_back(all[i]);
    expected[json::parse(all[i])["lang"].get<std::string>()][s]++;
  }
  config_.train_files = {Write("train.jsonl", train)};
  config_.valid_files = {Write("valid.jsonl", valid)};
  config_.test_files = {Write("test.jsonl", test)};
  auto data = Prepare();
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(data->counts, expected);
  // Without a valid file (and no split field or data.files) nothing is validated on.
  std::filesystem::remove_all(out_);
  config_.valid_files.clear();
  ExpectFailure("data: the valid split is empty; the data's own split (data.split_field, data.train, data.valid) has none");
}

// A config whose data section is `data`, the rest minimal.
StatusOr<SweepConfig> WithData(const std::string& data) {
  return ParseSweepConfig("name: s\ndata: " + data + "\nsearch: {space: {lr: {type: choice, values: [0.001]}}}\n"
                          "budget: {max_steps: 10}\n",
                          "s.yaml", RegisteredConfigNames());
}

TEST(PublishedSplitConfig, FilesOrATrainListIsRequired) {
  auto none = WithData("{split_field: split}");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("data.files"), std::string::npos) << none.status().message();
  EXPECT_NE(none.status().message().find("or data.train, data.valid and data.test"), std::string::npos);
  auto valid_only = WithData("{valid: [v.jsonl]}");
  ASSERT_FALSE(valid_only.ok());
  EXPECT_NE(valid_only.status().message().find("without data.train or data.files: nothing to train on"),
            std::string::npos)
      << valid_only.status().message();
  auto lists = WithData("{train: [t.jsonl], valid: [v.jsonl]}");
  ASSERT_TRUE(lists.ok()) << lists.status().message();
  EXPECT_EQ(lists->data.train_files, std::vector<std::string>{"t.jsonl"});
  EXPECT_TRUE(lists->data.files.empty());
  // A listed file that is not there is named by its key.
  Status files = CheckConfigFiles(&*lists);
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.message().find("data.train[0]"), std::string::npos) << files.message();
  EXPECT_NE(files.message().find("no such file: t.jsonl"), std::string::npos) << files.message();
}

}  // namespace
}  // namespace polysweep
