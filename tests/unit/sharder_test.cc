// Tests of `polysweep shard` (dataprep/sharder.h): the hash split, and
// ShardDataset on small files cut from the real default dataset: shards,
// manifest, tokenizer, bad input, idempotence, split stability.
#include "dataprep/sharder.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/shard_set.h"
#include "tests/unit/shard_fixture.h"
#include "tokenizer/tokenizer.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(SplitOf, IsDeterministicAndMatchesFractions) {
  constexpr int kKeys = 100000;
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "package-" + std::to_string(i);
    const Split s = SplitOf(key, 0.1, 0.2);
    ASSERT_EQ(s, SplitOf(key, 0.1, 0.2)) << key;
    counts[s]++;
  }
  EXPECT_NEAR(counts[kValid] / double(kKeys), 0.1, 0.01);
  EXPECT_NEAR(counts[kTest] / double(kKeys), 0.2, 0.01);
  EXPECT_NEAR(counts[kTrain] / double(kKeys), 0.7, 0.01);
}

TEST(SplitOf, PinnedValuesAndEdgeFractions) {
  // Splits must never change between versions: prepared data and published
  // results depend on them. These values pin FNV-1a + SplitMix64.
  EXPECT_EQ(SplitOf("rplay-client", 0.1, 0.1), kTrain);   // u = 0.9867
  EXPECT_EQ(SplitOf("djvuserve", 0.1, 0.1), kValid);      // u = 0.0633
  EXPECT_EQ(SplitOf("a", 0.3, 0.1), kTest);               // u = 0.3717
  EXPECT_EQ(SplitOf("a", 0.3, 0.05), kTrain);
  EXPECT_EQ(SplitOf("日本語", 0.05, 0.1), kValid);          // u = 0.0430
  EXPECT_EQ(SplitOf("fortunes-eo-iso3", 0.1, 0.8), kTest);  // u = 0.8539
  EXPECT_EQ(SplitOf("fortunes-eo-iso3", 0.1, 0.7), kTrain);
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "k" + std::to_string(i);
    EXPECT_NE(SplitOf(key, 0.001, 0.0), kTest);   // no test fraction, no test rows
    EXPECT_NE(SplitOf(key, 0.5, 0.5), kTrain);    // nothing left for train
  }
  // A key stays in valid when only the test fraction grows.
  int moved = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "g" + std::to_string(i);
    if (SplitOf(key, 0.1, 0.1) == kValid && SplitOf(key, 0.1, 0.3) != kValid) ++moved;
  }
  EXPECT_EQ(moved, 0);
}

TEST_F(ShardTest, WritesShardsTokenizerAndManifest) {
  config_.files = {Write("sample.jsonl", Sample())};
  auto data = Prepare();
  ASSERT_TRUE(data.ok()) << data.status().message();

  EXPECT_TRUE(fs::is_regular_file(out_ + "/manifest.json"));
  EXPECT_TRUE(fs::is_regular_file(out_ + "/tokenizer.model"));
  EXPECT_FALSE(fs::exists(out_ + ".tmp"));
  EXPECT_FALSE(fs::exists(out_ + "/tokenizer-sample.txt"));
  EXPECT_EQ(data->bad_lines, 0);

  // Labels and languages sorted and unique.
  EXPECT_EQ(data->languages, (std::vector<std::string>{"cs", "de", "ru", "uk"}));
  EXPECT_TRUE(std::is_sorted(data->labels.begin(), data->labels.end()));
  EXPECT_EQ(std::set<std::string>(data->labels.begin(), data->labels.end()).size(), data->labels.size());
  EXPECT_GE(data->labels.size(), 5u);

  // Counts per language add up to the input.
  std::map<std::string, int64_t> in_per_lang;
  for (const auto& l : Sample()) in_per_lang[json::parse(l)["lang"].get<std::string>()]++;
  for (const auto& [lang, n] : in_per_lang) {
    const auto& c = data->counts.at(lang);
    EXPECT_EQ(c[0] + c[1] + c[2], n) << lang;
  }
  EXPECT_GT(data->split_size(kValid), 0);
  EXPECT_GT(data->split_size(kTest), 0);

  // One shard per (split, language) with examples; each verifies and holds
  // what the manifest says, with ids inside the vocabulary.
  for (Split split : {kTrain, kValid, kTest}) {
    auto set = ShardSet::Open(*data, out_, split);
    ASSERT_TRUE(set.ok()) << set.status().message();
    EXPECT_EQ((*set)->size(), data->split_size(split));
    for (int64_t i = 0; i < (*set)->size(); ++i) {
      ExampleView v = (*set)->Get(i);
      ASSERT_GE(v.length, 1u);
      ASSERT_LE(v.length, static_cast<uint64_t>(config_.max_tokens));
      ASSERT_LT(v.label, data->labels.size());
      ASSERT_LT(v.lang, data->languages.size());
      for (uint64_t t = 0; t < v.length; ++t) ASSERT_LT(v.tokens[t], data->vocab_size);
    }
  }
  const json manifest = json::parse(std::ifstream(out_ + "/manifest.json"));
  EXPECT_EQ(manifest["labels"].get<std::vector<std::string>>(), data->labels);
  EXPECT_EQ(manifest["counts"]["uk"]["train"], data->counts.at("uk")[kTrain]);
  EXPECT_EQ(manifest["shards"].size(), data->shards.size());
  EXPECT_EQ(manifest["tokenizer"]["hash"].get<std::string>().size(), 16u);

  // The tokenizer loads and has about the vocabulary asked for.
  auto tok = Tokenizer::Load(out_ + "/tokenizer.model");
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  EXPECT_GT((*tok)->vocab_size(), 100);
  EXPECT_LE((*tok)->vocab_size(), 300);
  std::vector<int> ids;
  ASSERT_TRUE((*tok)->Encode("Русский текст, čeština, Deutsch", 64, &ids).ok());
  EXPECT_FALSE(ids.empty());
}

TEST_F(ShardTest, EveryExampleLandsInItsGroupsSplit) {
  config_.files = {Write("sample.jsonl", Sample())};
  auto data = Prepare();
  ASSERT_TRUE(data.ok()) << data.status().message();
  std::map<std::string, std::array<int64_t, 3>> expected;
  std::map<std::string, std::set<std::string>> langs_of_group;
  for (const auto& l : Sample()) {
    const json r = json::parse(l);
    const std::string group = r["group"].get<std::string>();
    expected[r["lang"].get<std::string>()][SplitOf(group, config_.valid_fraction, config_.test_fraction)]++;
    langs_of_group[group].insert(r["lang"].get<std::string>());
  }
  int multilingual = 0;
  for (const auto& [g, langs] : langs_of_group) multilingual += langs.size() > 1;
  ASSERT_GT(multilingual, 50) << "sample has too few groups spanning languages to test anything";
  EXPECT_EQ(data->counts, expected);
}

TEST_F(ShardTest, UnchangedInputsDoNoWorkAndChangedInputsRebuild) {
  const std::string file = Write("sample.jsonl", Sample());
  config_.files = {file};
  bool rebuilt = false;
  ASSERT_TRUE(Prepare(&rebuilt).ok());
  EXPECT_TRUE(rebuilt);
  const auto stamp = fs::last_write_time(out_ + "/manifest.json");
  auto again = Prepare(&rebuilt);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(rebuilt) << "unchanged inputs were sharded again";
  EXPECT_EQ(fs::last_write_time(out_ + "/manifest.json"), stamp);
  // A changed config or a changed file rebuilds.
  config_.valid_fraction = 0.2;
  ASSERT_TRUE(Prepare(&rebuilt).ok());
  EXPECT_TRUE(rebuilt);
  std::ofstream(file, std::ios::app) << Sample()[0] << "\n";
  ASSERT_TRUE(Prepare(&rebuilt).ok());
  EXPECT_TRUE(rebuilt);
  // A damaged shard (wrong size) is noticed and rebuilt.
  std::ofstream(out_ + "/" + again->shards[0].file, std::ios::app) << "x";
  ASSERT_TRUE(Prepare(&rebuilt).ok());
  EXPECT_TRUE(rebuilt);
}

TEST_F(ShardTest, AppendingToAFileMovesNoExampleToAnotherSplit) {
  // With a fixed tokenizer and label set, appending German rows leaves the
  // shards of the other languages byte-identical (same examples, splits and
  // order), and German only grows in each split.
  std::set<std::string> labels;
  std::vector<json> all;
  {
    std::ifstream in(POLYSWEEP_DEFAULT_DATA);
    for (std::string line; std::getline(in, line);) all.push_back(json::parse(line));
  }
  for (const json& r : all) labels.insert(r["label"].get<std::string>());
  config_.labels.assign(labels.begin(), labels.end());
  config_.files = {Write("sample.jsonl", Sample())};
  ASSERT_TRUE(Prepare().ok());
  fs::copy_file(out_ + "/tokenizer.model", dir_ + "/fixed.model");
  config_.tokenizer = dir_ + "/fixed.model";
  auto before = Prepare();
  ASSERT_TRUE(before.ok()) << before.status().message();
  std::set<std::string> present(Sample().begin(), Sample().end());
  std::vector<std::string> more = Sample();
  int added = 0;
  for (const json& r : all) {
    if (added < 150 && r["lang"] == "de" && !present.count(r.dump())) more.push_back(r.dump()), ++added;
  }
  config_.files = {Write("sample.jsonl", more)};
  auto after = Prepare();
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(after->languages, before->languages);
  for (Split split : {kTrain, kValid, kTest}) {
    for (const std::string lang : {"cs", "ru", "uk"}) {
      const ShardEntry* a = before->Find(split, lang);
      const ShardEntry* b = after->Find(split, lang);
      ASSERT_EQ(a == nullptr, b == nullptr);
      if (a) {
        EXPECT_EQ(a->checksum, b->checksum) << SplitName(split) << "-" << lang << " changed";
      }
    }
    EXPECT_GE(after->counts.at("de")[split], before->counts.at("de")[split]) << SplitName(split);
  }
  EXPECT_EQ(after->counts.at("de")[0] + after->counts.at("de")[1] + after->counts.at("de")[2],
            before->counts.at("de")[0] + before->counts.at("de")[1] + before->counts.at("de")[2] + added);
}

TEST_F(ShardTest, InvalidUtf8FailsWithFileLineAndLeavesNothing) {
  std::vector<std::string> lines(Sample().begin(), Sample().begin() + 10);
  lines[2] = R"({"text": "bad )" + std::string("\xE6\x97") + R"(", "label": "games", "lang": "ru"})";
  const std::string file = Write("utf8.jsonl", lines);
  config_.files = {file};
  ExpectFailure(file + ":3: invalid UTF-8");
}

TEST_F(ShardTest, FailureKeepsNoPartialOutputButOldDataSurvives) {
  // A previous good sharding stays when a new one fails on input.
  config_.files = {Write("good.jsonl", Sample())};
  ASSERT_TRUE(Prepare().ok());
  std::vector<std::string> lines(Sample().begin(), Sample().begin() + 5);
  lines.push_back("{not json");
  const std::string bad = Write("bad.jsonl", lines);
  config_.files = {bad};
  auto data = Prepare();
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find(bad + ":6: not valid JSON"), std::string::npos)
      << data.status().message();
  EXPECT_TRUE(fs::is_regular_file(out_ + "/manifest.json"));
  EXPECT_FALSE(fs::exists(out_ + ".tmp"));
}

TEST_F(ShardTest, MissingLabelNamesFileLineAndField) {
  std::vector<std::string> lines(Sample().begin(), Sample().begin() + 10);
  lines[6] = R"({"text": "kein Label hier", "lang": "de", "group": "x"})";
  const std::string file = Write("nolabel.jsonl", lines);
  config_.files = {file};
  ExpectFailure(file + ":7: missing field \"label\"");
}

TEST_F(ShardTest, MissingOrEmptyTextIsRefused) {
  std::vector<std::string> lines(Sample().begin(), Sample().begin() + 10);
  lines[1] = R"({"label": "games", "lang": "de"})";
  config_.files = {Write("notext.jsonl", lines)};
  ExpectFailure(":2: missing field \"text\"");
  lines[1] = R"({"text": "  ", "label": "games", "lang": "de"})";
  config_.files = {Write("emptytext.jsonl", lines)};
  ExpectFailure(":2: field \"text\" is empty");
}

TEST_F(ShardTest, BlankLinesDoNotShiftLineNumbers) {
  std::vector<std::string> lines(Sample().begin(), Sample().begin() + 10);
  lines[1] = "";
  lines[2] = "   ";
  lines[4] = R"({"text": "x", "label": "a", "lang": "en us", "group": "x"})";
  const std::string file = Write("blank.jsonl", lines);
  config_.files = {file};
  ExpectFailure(file + ":5: field \"lang\" is not a language code");
}

TEST_F(ShardTest, MaxBadLinesSkipsAndCounts) {
  std::vector<std::string> lines = Sample();
  lines[10] = "{broken";
  config_.files = {Write("one-bad.jsonl", lines)};
  config_.max_bad_lines = 1;
  auto data = Prepare();
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(data->bad_lines, 1);
  EXPECT_EQ(data->split_size(kTrain) + data->split_size(kValid) + data->split_size(kTest),
            static_cast<int64_t>(Sample().size()) - 1);
  EXPECT_EQ(json::parse(std::ifstream(out_ + "/manifest.json"))["bad_lines"], 1);

  fs::remove_all(out_);
  lines[20] = R"({"text": "no lang", "label": "games"})";
  const std::string two_bad = Write("two-bad.jsonl", lines);
  config_.files = {two_bad};
  ExpectFailure(two_bad + ":21: missing field \"lang\" (2 bad lines; data.max_bad_lines is 1)");
}

TEST_F(ShardTest, MaxPerLanguageCapsEachLanguage) {
  config_.files = {Write("sample.jsonl", Sample())};
  config_.max_per_language = 40;
  auto data = Prepare();
  ASSERT_TRUE(data.ok()) << data.status().message();
  ASSERT_EQ(data->counts.size(), 4u);
  for (const auto& [lang, c] : data->counts) EXPECT_EQ(c[0] + c[1] + c[2], 40) << lang;
}

TEST_F(ShardTest, LanguagesFilterKeepsOnlyListed) {
  config_.files = {Write("sample.jsonl", Sample())};
  config_.languages = {"ru", "uk"};
  auto data = Prepare();
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(data->languages, (std::vector<std::string>{"ru", "uk"}));
  EXPECT_EQ(data->counts.count("cs"), 0u);

  fs::remove_all(out_);
  config_.languages = {"fi"};
  ExpectFailure("no examples left after the data.languages filter");
}

TEST_F(ShardTest, EmptyFileFailsNamingIt) {
  const std::string empty = Write("empty.jsonl", {});
  config_.files = {empty};
  ExpectFailure(empty + ": no examples in file");
  const std::string blank = Write("blank.jsonl", {"", "  "});
  config_.files = {blank};
  ExpectFailure(blank + ": no examples in file");
}

TEST_F(ShardTest, MissingFileFailsNamingIt) {
  config_.files = {dir_ + "/absent.jsonl"};
  ExpectFailure(dir_ + "/absent.jsonl: cannot open");
}

TEST_F(ShardTest, UnknownLanguageCodeIsRefused) {
  std::vector<std::string> lines(Sample().begin(), Sample().begin() + 10);
  lines[3] = R"({"text": "Ein Text", "label": "games", "lang": "xx", "group": "g"})";
  const std::string file = Write("lang.jsonl", lines);
  config_.files = {file};
  ExpectFailure(file + ":4: unknown language code \"xx\"");
}

TEST_F(ShardTest, LabelOutsideTheLabelSetIsRefused) {
  std::vector<std::string> lines(Sample().begin(), Sample().begin() + 10);
  lines[5] = R"({"text": "Ein Text", "label": "cooking", "lang": "de", "group": "g"})";
  const std::string file = Write("label.jsonl", lines);
  config_.files = {file};
  std::set<std::string> labels;
  for (const auto& l : Sample()) labels.insert(json::parse(l)["label"].get<std::string>());
  config_.labels.assign(labels.begin(), labels.end());
  ExpectFailure(file + ":6: label \"cooking\" is not in data.labels");
}

TEST_F(ShardTest, FiftyMegabyteLineIsRefused) {
  std::vector<std::string> lines(Sample().begin(), Sample().begin() + 10);
  lines[7] = R"({"text": ")" + std::string(50 << 20, 'a') + R"(", "label": "games", "lang": "de"})";
  const std::string file = Write("huge.jsonl", lines);
  config_.files = {file};
  ExpectFailure(file + ":8: line of 52428");
}

TEST_F(ShardTest, TruncatedGzipIsRefused) {
  std::string text;
  for (const auto& l : Sample()) text += l + "\n";
  const std::string path = dir_ + "/sample.jsonl.gz";
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(gz);
  config_.files = {path};
  ASSERT_TRUE(Prepare().ok()) << "a whole gzip file must read";
  fs::remove_all(out_);
  fs::resize_file(path, fs::file_size(path) / 2);
  ExpectFailure(path + ": truncated or corrupt gzip data after line ");
}

TEST_F(ShardTest, TsvWithAHeaderReads) {
  std::vector<std::string> lines = {"lang\tlabel\tgroup\ttext"};
  for (const auto& l : Sample()) {
    const json r = json::parse(l);
    std::string text = r["text"].get<std::string>();
    for (char& c : text) c = c == '\t' ? ' ' : c;
    lines.push_back(r["lang"].get<std::string>() + "\t" + r["label"].get<std::string>() + "\t" +
                    r["group"].get<std::string>() + "\t" + text);
  }
  config_.files = {Write("sample.tsv", lines)};
  auto data = Prepare();
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(data->split_size(kTrain) + data->split_size(kValid) + data->split_size(kTest),
            static_cast<int64_t>(Sample().size()));
  fs::remove_all(out_);
  lines[4] += "\textra";
  const std::string bad = Write("bad.tsv", lines);
  config_.files = {bad};
  ExpectFailure(bad + ":5: expected 4 tab-separated columns, got 5");
}

TEST_F(ShardTest, TextPairsAreEncodedTogetherWithinTheModelsLength) {
  // Each row paired with the next row's text, as an inference or matching dataset is.
  std::vector<std::string> lines;
  for (size_t i = 0; i < Sample().size(); ++i) {
    json r = json::parse(Sample()[i]);
    r["second"] = json::parse(Sample()[(i + 1) % Sample().size()])["text"];
    lines.push_back(r.dump());
  }
  config_.files = {Write("pairs.jsonl", lines)};
  config_.text_pair_field = "second";
  config_.pair_max_tokens = 24;
  bool rebuilt = false;
  auto data = Prepare(&rebuilt);
  ASSERT_TRUE(data.ok()) << data.status().message();
  auto tok = Tokenizer::Load(out_ + "/" + data->tokenizer_file);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  std::multiset<std::pair<std::vector<int>, uint32_t>> stored;
  for (Split split : {kTrain, kValid, kTest}) {
    auto set = ShardSet::Open(*data, out_, split);
    ASSERT_TRUE(set.ok()) << set.status().message();
    for (int64_t i = 0; i < (*set)->size(); ++i) {
      const ExampleView v = (*set)->Get(i);
      ASSERT_LE(v.length, 24u);
      ASSERT_GT(v.pair_start, 0u);
      ASSERT_LT(v.pair_start, v.length);
      stored.insert({std::vector<int>(v.tokens, v.tokens + v.length), v.pair_start});
    }
  }
  // Every row is stored as the tokenizer encodes its pair.
  for (const std::string& line : lines) {
    const json r = json::parse(line);
    std::vector<int> ids;
    size_t second = 0;
    ASSERT_TRUE((*tok)->EncodePair(r["text"].get<std::string>(), r["second"].get<std::string>(), 24, &ids, &second).ok());
    auto it = stored.find({ids, static_cast<uint32_t>(second)});
    ASSERT_NE(it, stored.end()) << line;
    stored.erase(it);
  }
  EXPECT_TRUE(stored.empty());
  // The pair budget is part of what the shards are made from.
  config_.pair_max_tokens = 32;
  ASSERT_TRUE(Prepare(&rebuilt).ok());
  EXPECT_TRUE(rebuilt);
  // A row without its second text names the file, line and field.
  lines[6] = Sample()[6];
  const std::string bad = Write("bad-pairs.jsonl", lines);
  config_.files = {bad};
  fs::remove_all(out_);
  ExpectFailure(bad + ":7: missing field \"second\"");
}

TEST_F(ShardTest, OverlongLineIsBad) {
  std::vector<std::string> lines(Sample().begin(), Sample().begin() + 10);
  config_.max_line_bytes = 64;
  const std::string file = Write("long.jsonl", lines);
  config_.files = {file};
  ExpectFailure(file + ":1: line of ");
}

}  // namespace
}  // namespace polysweep
