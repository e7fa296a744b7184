// The fixture of the sharder's tests (sharder_test.cc, published_split_test.cc):
// small files cut from the real default dataset, sharded into a temporary
// directory, and the check that a failure leaves nothing behind.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "dataprep/sharder.h"

namespace polysweep {

// Lines of the default dataset: the first 140 Czech rows, then up to 100 rows
// in each of de, ru and uk whose group (package) is one of those Czech rows',
// so groups span languages. Two scripts, but no CJK: SentencePiece needs a
// piece per character, more than the ~300-piece vocabulary used here.
inline std::vector<std::string> SampleLines() {
  std::ifstream in(POLYSWEEP_DEFAULT_DATA);
  EXPECT_TRUE(in) << "cannot read " << POLYSWEEP_DEFAULT_DATA;
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  std::vector<std::string> out;
  std::set<std::string> groups;
  for (const nlohmann::json& r : rows) {
    if (r["lang"] == "cs" && out.size() < 140) {
      out.push_back(r.dump());
      groups.insert(r["group"].get<std::string>());
    }
  }
  for (const char* lang : {"de", "ru", "uk"}) {
    int taken = 0;
    for (const nlohmann::json& r : rows) {
      if (taken < 100 && r["lang"] == lang && groups.count(r["group"].get<std::string>())) {
        out.push_back(r.dump());
        ++taken;
      }
    }
  }
  return out;
}

inline const std::vector<std::string>& Sample() {
  static const std::vector<std::string> lines = SampleLines();
  return lines;
}

class ShardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "sharder_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    out_ = dir_ + "/prepared";
    config_.shard_dir = out_;
    config_.threads = 2;
    config_.group_field = "group";
    config_.vocab_size = 300;
    ASSERT_GE(Sample().size(), 360u);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::vector<std::string>& lines) {
    const std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary);
    for (const auto& l : lines) out << l << "\n";
    return path;
  }

  StatusOr<Manifest> Prepare(bool* rebuilt = nullptr) {
    auto out = ShardDataset(config_, Logger("sharder_test"));
    if (!out.ok()) return out.status();
    if (rebuilt) *rebuilt = out->rebuilt;
    return out->manifest;
  }

  // Fails like a bad input must: naming `want`, leaving nothing behind.
  void ExpectFailure(const std::string& want) {
    auto data = Prepare();
    ASSERT_FALSE(data.ok());
    EXPECT_NE(data.status().message().find(want), std::string::npos)
        << "message: " << data.status().message() << "\nexpected: " << want;
    EXPECT_FALSE(std::filesystem::exists(out_));
    EXPECT_FALSE(std::filesystem::exists(out_ + ".tmp"));
  }

  std::string dir_;
  std::string out_;
  DataConfig config_;
};

}  // namespace polysweep
