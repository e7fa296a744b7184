// Binary shards and manifests (common/shard.h, common/manifest.h,
// common/shard_set.h): round trips, label spans, version 1 shards still read,
// and corruption caught before use.
#include "common/shard.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/json_fields.h"
#include "common/manifest.h"
#include "common/shard_set.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

class ShardFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "shard_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

ShardData Sample(int n, uint16_t lang) {
  ShardData d;
  for (int i = 0; i < n; ++i) {
    std::vector<int> ids;
    for (int t = 0; t <= i % 5; ++t) ids.push_back(100 * i + t);
    d.Add(ids, static_cast<uint16_t>(i % 3), lang);
  }
  return d;
}

TEST_F(ShardFiles, RoundTripThroughTheMemoryMap) {
  ShardData d = Sample(50, 2);
  auto info = WriteShard(dir_ + "/a.bin", d);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->bytes, fs::file_size(dir_ + "/a.bin"));
  auto s = MappedShard::Open(dir_ + "/a.bin", ChecksumHex(info->checksum));
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ((*s)->size(), 50u);
  for (uint64_t i = 0; i < 50; ++i) {
    ASSERT_EQ((*s)->length(i), i % 5 + 1);
    EXPECT_EQ((*s)->tokens(i)[0], static_cast<int32_t>(100 * i));
    EXPECT_EQ((*s)->label(i), i % 3);
    EXPECT_EQ((*s)->lang(i), 2);
  }
}

TEST_F(ShardFiles, TextPairsRoundTripAsVersionThreeAndSingleTextsStayVersionTwo) {
  ShardData d;
  d.Add({1, 2, 3}, 0, 0);                                          // a single text first
  d.AddPair({1, 7, 8, 2, 9, 2}, std::vector<int32_t>{1}, 0, 4);    // [CLS] a a [SEP] b [SEP]
  d.AddPair({1, 7, 2, 9, 9, 9, 2}, std::vector<int32_t>{0}, 0, 3);
  auto info = WriteShard(dir_ + "/pairs.bin", d);
  ASSERT_TRUE(info.ok()) << info.status().message();
  auto s = MappedShard::Open(dir_ + "/pairs.bin", ChecksumHex(info->checksum));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)->version(), 3u);
  EXPECT_TRUE((*s)->has_pairs());
  EXPECT_EQ((*s)->pair_start(0), 0u);
  EXPECT_EQ((*s)->pair_start(1), 4u);
  EXPECT_EQ((*s)->pair_start(2), 3u);
  EXPECT_EQ((*s)->length(2), 7u);
  EXPECT_EQ((*s)->label(1), 1);

  auto single = WriteShard(dir_ + "/single.bin", Sample(5, 0));
  ASSERT_TRUE(single.ok());
  auto v2 = MappedShard::Open(dir_ + "/single.bin");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v2)->version(), 2u);  // what older readers read
  EXPECT_FALSE((*v2)->has_pairs());
  EXPECT_EQ((*v2)->pair_start(3), 0u);

  // A pair start past its example's end is corruption, caught at open.
  std::string bytes;
  {
    std::ifstream in(dir_ + "/pairs.bin", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const uint32_t past = 99;
  std::memcpy(bytes.data() + bytes.size() - sizeof(uint32_t), &past, sizeof past);
  std::ofstream(dir_ + "/bad.bin", std::ios::binary) << bytes;
  auto bad = MappedShard::Open(dir_ + "/bad.bin");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("example 2's second text starts past its end"), std::string::npos)
      << bad.status().message();
}

TEST_F(ShardFiles, AFlippedByteOrATruncationIsCaught) {
  auto info = WriteShard(dir_ + "/a.bin", Sample(20, 0));
  ASSERT_TRUE(info.ok());
  const std::string sum = ChecksumHex(info->checksum);
  {
    std::fstream f(dir_ + "/a.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  auto flipped = MappedShard::Open(dir_ + "/a.bin", sum);
  ASSERT_FALSE(flipped.ok());
  EXPECT_NE(flipped.status().message().find("checksum mismatch"), std::string::npos) << flipped.status().message();
  ASSERT_TRUE(WriteShard(dir_ + "/b.bin", Sample(20, 0)).ok());
  fs::resize_file(dir_ + "/b.bin", fs::file_size(dir_ + "/b.bin") - 2);
  auto cut = MappedShard::Open(dir_ + "/b.bin");
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("truncated"), std::string::npos) << cut.status().message();
  std::ofstream(dir_ + "/c.bin") << "not a shard at all, but longer than sixty-four bytes of header ....";
  EXPECT_FALSE(MappedShard::Open(dir_ + "/c.bin").ok());
}

// Version 2: a label span per example, of any length; a shard whose
// examples have one label each keeps no label offsets.
TEST_F(ShardFiles, LabelSpansRoundTripAndOneLabelEachStaysCompact) {
  ShardData d;
  d.Add({5, 6, 7}, std::vector<int32_t>{1, -100, 2}, 0);  // one per token
  d.Add({8}, std::vector<int32_t>{}, 1);                  // none
  d.Add({9, 10}, std::vector<int32_t>{4, 0, 3, 7}, 1);    // a set
  d.Add({11}, uint16_t{6}, 0);                            // one class
  auto info = WriteShard(dir_ + "/spans.bin", d);
  ASSERT_TRUE(info.ok()) << info.status().message();
  auto s = MappedShard::Open(dir_ + "/spans.bin", ChecksumHex(info->checksum));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)->version(), 2u);
  ASSERT_EQ((*s)->size(), 4u);
  const std::vector<std::vector<int32_t>> want = {{1, -100, 2}, {}, {4, 0, 3, 7}, {6}};
  for (uint64_t i = 0; i < 4; ++i) {
    const LabelSpan span = (*s)->labels(i);
    EXPECT_EQ(std::vector<int32_t>(span.begin(), span.end()), want[i]) << i;
  }
  EXPECT_EQ((*s)->label(0), 1);
  EXPECT_EQ((*s)->label(1), 0);
  EXPECT_EQ((*s)->label(3), 6);
  EXPECT_EQ((*s)->tokens(2)[1], 10);

  ShardData one = Sample(10, 1);
  auto compact = WriteShard(dir_ + "/one.bin", one);
  ASSERT_TRUE(compact.ok());
  // header, offsets, tokens, labels, langs: no label offsets
  EXPECT_EQ(compact->bytes, 128 + 11 * 8 + one.tokens.size() * 4 + 10 * 4 + 10 * 2);
  auto c = MappedShard::Open(dir_ + "/one.bin");
  ASSERT_TRUE(c.ok()) << c.status().message();
  for (uint64_t i = 0; i < 10; ++i) {
    ASSERT_EQ((*c)->labels(i).size, 1u);
    EXPECT_EQ((*c)->labels(i)[0], static_cast<int32_t>(i % 3));
  }
}

// Shards written before version 2 (a 64-byte header, u16 labels) still read,
// each example's span its one label; a version from the future is refused.
TEST_F(ShardFiles, VersionOneShardsStillReadAndNewerOnesAreRefused) {
  const std::vector<uint64_t> offsets = {0, 2, 3};
  const std::vector<int32_t> tokens = {21, 22, 23};
  const std::vector<uint16_t> labels = {4, 1}, langs = {0, 0};
  struct {
    char magic[8] = {'P', 'S', 'S', 'H', 'A', 'R', 'D', '1'};
    uint32_t version = 1, reserved = 0;
    uint64_t examples = 2, tokens = 3, offsets_at = 64, tokens_at = 64 + 24, labels_at = 64 + 24 + 12,
             langs_at = 64 + 24 + 12 + 4;
  } h;
  static_assert(sizeof h == 64, "version 1 header");
  std::string bytes(reinterpret_cast<const char*>(&h), sizeof h);
  bytes.append(reinterpret_cast<const char*>(offsets.data()), 24);
  bytes.append(reinterpret_cast<const char*>(tokens.data()), 12);
  bytes.append(reinterpret_cast<const char*>(labels.data()), 4);
  bytes.append(reinterpret_cast<const char*>(langs.data()), 4);
  std::ofstream(dir_ + "/v1.bin", std::ios::binary) << bytes;
  auto s = MappedShard::Open(dir_ + "/v1.bin");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)->version(), 1u);
  ASSERT_EQ((*s)->size(), 2u);
  EXPECT_EQ((*s)->length(0), 2u);
  EXPECT_EQ((*s)->tokens(1)[0], 23);
  EXPECT_EQ((*s)->label(0), 4);
  ASSERT_EQ((*s)->labels(1).size, 1u);
  EXPECT_EQ((*s)->labels(1)[0], 1);

  h.version = 5;
  bytes.replace(0, sizeof h, reinterpret_cast<const char*>(&h), sizeof h);
  std::ofstream(dir_ + "/v5.bin", std::ios::binary) << bytes;
  auto future = MappedShard::Open(dir_ + "/v5.bin");
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.status().message().find("shard version 5, and this polysweep reads versions 1 to 4"),
            std::string::npos)
      << future.status().message();
  EXPECT_NE(future.status().message().find("polysweep shard --force"), std::string::npos);
}

TEST_F(ShardFiles, ShardSetIndexesLanguagesInManifestOrder) {
  Manifest m;
  m.fingerprint = "f";
  m.labels = {"a", "b", "c"};
  m.languages = {"de", "en", "fr"};
  m.vocab_size = 1000;
  m.tokenizer_file = "tokenizer.model";
  m.tokenizer_hash = "0";
  int lang = 0;
  for (auto [code, n] : {std::pair{"de", 7}, std::pair{"fr", 4}}) {  // no "en" shard
    const std::string file = std::string("train-") + code + ".bin";
    auto info = WriteShard(dir_ + "/" + file, Sample(n, static_cast<uint16_t>(lang == 0 ? 0 : 2)));
    ASSERT_TRUE(info.ok());
    m.shards.push_back({kTrain, code, file, n, 0, static_cast<int64_t>(info->bytes), ChecksumHex(info->checksum)});
    m.counts[code][kTrain] = n;
    ++lang;
  }
  // The manifest survives its JSON form.
  auto parsed = ParseManifest(ManifestToJson(m), "manifest.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->languages, m.languages);
  EXPECT_EQ(parsed->shards.size(), 2u);
  EXPECT_EQ(parsed->split_size(kTrain), 11);

  auto set = ShardSet::Open(*parsed, dir_, kTrain);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ((*set)->size(), 11);
  EXPECT_EQ((*set)->language_sizes(), (std::vector<int64_t>{7, 0, 4}));
  EXPECT_EQ((*set)->Get(6).tokens[0], 600);  // last of de
  EXPECT_EQ((*set)->Get(7).tokens[0], 0);    // first of fr
  EXPECT_EQ((*set)->Get(7).lang, 2);
  EXPECT_EQ((*set)->Get(8).labels.size, 1u);  // fr's second: label 1 % 3
  EXPECT_EQ((*set)->Get(8).labels[0], 1);
  EXPECT_EQ((*set)->Get(8).label, 1);

  // A manifest that lies about a shard is refused.
  parsed->shards[0].examples = 8;
  auto lying = ShardSet::Open(*parsed, dir_, kTrain);
  ASSERT_FALSE(lying.ok());
  EXPECT_NE(lying.status().message().find("the manifest says 8"), std::string::npos);
}

TEST(Manifest, MalformedManifestsAreRefused) {
  EXPECT_FALSE(ParseManifest("", "m.json").ok());
  EXPECT_FALSE(ParseManifest("[]", "m.json").ok());
  EXPECT_FALSE(ParseManifest(R"({"version": 2})", "m.json").ok());
  auto missing = ParseManifest(R"({"version": 1, "fingerprint": "x"})", "m.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("m.json: malformed manifest"), std::string::npos);
  const std::string escape = R"({"version":1,"fingerprint":"f","labels":[],"languages":[],"counts":{},
    "tokenizer":{"file":"t","hash":"h","vocab_size":1},"bad_lines":0,
    "shards":[{"split":"train","language":"de","file":"../../etc/passwd","examples":1,"tokens":1,"bytes":1,"checksum":"0"}]})";
  // Found by fuzz_manifest: an unknown split name was cast into the enum.
  std::string unknown_split = escape;
  unknown_split.replace(unknown_split.find("../../etc/passwd"), 16, "train-de.bin");
  unknown_split.replace(unknown_split.find("\"train\""), 7, "\"dev\"");
  auto dev = ParseManifest(unknown_split, "m.json");
  ASSERT_FALSE(dev.ok());
  EXPECT_NE(dev.status().message().find("unknown split \"dev\""), std::string::npos) << dev.status().message();
  auto esc = ParseManifest(escape, "m.json");
  ASSERT_FALSE(esc.ok());
  EXPECT_NE(esc.status().message().find("not a plain relative name"), std::string::npos);
  // Found by fuzz_manifest: a float too large for int was converted (undefined behaviour).
  auto huge = ParseManifest(R"({"version": 1.8e164})", "m.json");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("version: expected an integer in range"), std::string::npos)
      << huge.status().message();
  std::string negative_count = escape;
  negative_count.replace(negative_count.find("../../etc/passwd"), 16, "train-de.bin");
  negative_count.replace(negative_count.find("\"examples\":1"), 12, "\"examples\":1.5");
  auto fraction = ParseManifest(negative_count, "m.json");
  ASSERT_FALSE(fraction.ok());
  EXPECT_NE(fraction.status().message().find("examples: expected an integer"), std::string::npos)
      << fraction.status().message();
}

TEST(JsonIntValue, TakesOnlyIntegersThatFit) {
  EXPECT_EQ(JsonIntValue<int>(nlohmann::json(7), "x"), 7);
  EXPECT_EQ(JsonIntValue<int64_t>(nlohmann::json(int64_t{1} << 40), "x"), int64_t{1} << 40);
  EXPECT_THROW(JsonIntValue<int>(nlohmann::json(int64_t{1} << 40), "x"), std::out_of_range);
  EXPECT_THROW(JsonIntValue<int>(nlohmann::json(1e300), "x"), std::out_of_range);
  EXPECT_THROW(JsonIntValue<int>(nlohmann::json(2.0), "x"), std::out_of_range);  // a float, even a whole one
  EXPECT_THROW(JsonIntValue<uint64_t>(nlohmann::json(-1), "x"), std::out_of_range);
  EXPECT_THROW(JsonIntValue<int64_t>(nlohmann::json(UINT64_MAX), "x"), std::out_of_range);
  EXPECT_EQ(JsonIntValue<uint64_t>(nlohmann::json(UINT64_MAX), "x"), UINT64_MAX);
  EXPECT_THROW(JsonIntValue<int>(nlohmann::json("7"), "x"), std::out_of_range);
}

}  // namespace
}  // namespace polysweep
