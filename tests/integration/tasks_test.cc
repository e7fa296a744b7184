// Token classification end to end: a named-entity sweep over 2 MPI ranks on
// generated tagged sentences whose right answer is known (JSONL training
// data, CoNLL valid and test files), scored by entity F1, its best model's
// test split reported per entity type, and `predict` returning entities
// with character offsets; and the shipped part-of-speech config, in a short
// form, on python3-pattern's tagged sentences.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "command.h"
#include "journal_reader.h"

namespace polysweep {
namespace {

using testing_util::JournalReader;
using testing_util::Quote;
using testing_util::RunCommand;

// Sentences of lower-case words of the default dataset (tag O) with names
// inserted (B-/I-PER, B-/I-LOC): what is an entity is known by construction.
class Sentences {
 public:
  Sentences() {
    std::ifstream in(POLYSWEEP_DEFAULT_DATA);
    for (std::string line; std::getline(in, line);) {
      const auto row = nlohmann::json::parse(line);
      auto& words = fill_[row["lang"].get<std::string>()];
      if (words.size() > 2000) continue;
      std::istringstream text(row["text"].get<std::string>());
      for (std::string w; text >> w;) {
        if (std::all_of(w.begin(), w.end(), [](char c) { return c >= 'a' && c <= 'z'; })) words.push_back(w);
      }
    }
  }
  void Next(const std::string& lang, std::vector<std::string>* words, std::vector<std::string>* tags) {
    static const std::vector<std::vector<std::string>> kPer = {{"Anna"}, {"Jan"}, {"Marie", "Curie"}, {"Hans", "Weber"}};
    static const std::vector<std::vector<std::string>> kLoc = {{"Praha"}, {"Berlin"}, {"Nová", "Ves"}, {"Bad", "Ems"}};
    words->clear();
    tags->clear();
    const int n = 4 + static_cast<int>(rng_() % 8);
    for (int i = 0; i < n; ++i) {
      if (rng_() % 7 != 0) {
        const auto& fill = fill_[lang];
        words->push_back(fill[rng_() % fill.size()]);
        tags->push_back("O");
        continue;
      }
      const bool per = rng_() % 2 == 0;
      const auto& name = (per ? kPer : kLoc)[rng_() % 4];
      for (size_t k = 0; k < name.size(); ++k) {
        words->push_back(name[k]);
        tags->push_back(std::string(k == 0 ? "B-" : "I-") + (per ? "PER" : "LOC"));
      }
    }
  }

 private:
  std::map<std::string, std::vector<std::string>> fill_;
  std::mt19937 rng_{11};
};

TEST(Tasks, NamedEntitySweepScoresSpansAndTagsTextWithOffsets) {
  const std::string dir = testing_util::FreshDir("ner");
  Sentences gen;
  std::vector<std::string> words, tags;
  const std::vector<std::string> langs = {"cs", "de", "fr"};
  {
    std::ofstream train(dir + "/train.jsonl");
    for (int i = 0; i < 600; ++i) {
      gen.Next(langs[i % 3], &words, &tags);
      train << nlohmann::json{{"tokens", words}, {"tags", tags}, {"lang", langs[i % 3]}}.dump() << "\n";
    }
    for (const char* split : {"valid", "test"}) {
      std::ofstream out(dir + "/" + split + ".conll");
      for (const std::string& lang : langs) {
        out << "# lang = " << lang << "\n\n";
        for (int i = 0; i < 40; ++i) {
          gen.Next(lang, &words, &tags);
          for (size_t w = 0; w < words.size(); ++w) out << words[w] << "\t" << tags[w] << "\n";
          out << "\n";
        }
      }
    }
  }
  const std::string run = dir + "/run";
  std::ofstream(dir + "/ner.yaml")
      << "name: ner\noutput_dir: " << run << "\n"
      << "data: {train: [" << dir << "/train.jsonl], valid: [" << dir << "/valid.conll], test: [" << dir
      << "/test.conll], vocab_size: 500, tag_scheme: iob2}\n"
      << "model: {layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 48, task: token_classification}\n"
      << "trial: {ranks: 2}\n"
      << "search: {algorithm: grid, space: {lr: {type: choice, values: [3.0e-3, 3.0e-5]}, "
      << "batch_size: {type: choice, values: [16]}}}\n"
      << "budget: {max_trials: 2, max_steps: 60, eval_every: 10, log_every: 10, test_top_k: 2}\n";
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(dir + "/ner.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("entity f1"), std::string::npos) << r.err;
  // The objective is the spans' F1: low at first, the generated entities all found at the end.
  JournalReader j(run + "/journal.db");
  const double first = std::stod(j.Scalar("SELECT objective FROM evaluations WHERE trial_id=1 ORDER BY step LIMIT 1"));
  const double last = std::stod(j.Scalar("SELECT objective FROM evaluations WHERE trial_id=1 ORDER BY step DESC LIMIT 1"));
  EXPECT_LT(first, 0.9);
  EXPECT_GE(last, 0.95);
  EXPECT_EQ(j.Scalar("SELECT COUNT(DISTINCT lang) FROM language_scores WHERE trial_id=1 AND f1 > 0.9"), "3");
  // The test split, per entity type, for the best two trials (budget.test_top_k), journaled.
  EXPECT_NE(r.out.find("test:    scored the test split"), std::string::npos) << r.out;  // the best, trial 1
  EXPECT_NE(r.out.find("test:    trial 2: scored the test split"), std::string::npos) << r.out;
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM test_scores"), "2");
  EXPECT_NE(j.Scalar("SELECT report FROM test_scores WHERE trial_id=2").find("\"micro\""), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(run + "/models/trial-2/test-report.json"));
  auto top = RunCommand(std::string(POLYSWEEP_BIN) + " best -k 2 --dir " + Quote(run));
  EXPECT_NE(top.out.find("  trial 2: scored the test split"), std::string::npos) << top.out;
  const auto report = nlohmann::json::parse(testing_util::ReadText(run + "/model/test-report.json"));
  EXPECT_GE(report["micro"]["f1"].get<double>(), 0.95) << report.dump();
  EXPECT_TRUE(report["entities"].contains("PER") && report["entities"].contains("LOC")) << report.dump();
  EXPECT_GT(report["entities"]["LOC"]["support"].get<int>(), 10);
  // predict: each word's tag, the entities with character offsets.
  std::ofstream(dir + "/text.jsonl") << R"({"text": "Čte Anna  v Nová Ves", "lang": "cs"})" << "\n";
  auto p = RunCommand(std::string(POLYSWEEP_BIN) + " predict " + Quote(run + "/model") + " " + Quote(dir + "/text.jsonl"));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto tagged = nlohmann::json::parse(p.out);
  ASSERT_EQ(tagged["words"].size(), 5u) << p.out;
  EXPECT_EQ(tagged["words"][1]["tag"], "B-PER");
  ASSERT_EQ(tagged["entities"].size(), 2u) << p.out;
  EXPECT_EQ(tagged["entities"][0], (nlohmann::json{{"type", "PER"}, {"text", "Anna"}, {"start", 4}, {"end", 8},
                                                   {"words", {1, 2}}}));
  EXPECT_EQ(tagged["entities"][1]["text"], "Nová Ves");
  EXPECT_EQ(tagged["entities"][1]["start"], 12);  // characters, not bytes: Č is one
  EXPECT_EQ(tagged["entities"][1]["end"], 20);
  // evaluate: the entity report of any labelled file.
  auto e = RunCommand(std::string(POLYSWEEP_BIN) + " evaluate " + Quote(run + "/model") + " " + Quote(dir + "/train.jsonl"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("micro avg"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("PER"), std::string::npos) << e.out;
  std::filesystem::remove_all(dir);
}

// Regression: a star rating (1 to 5) that is one more than the times a
// marker word occurs in the text, learnt over 2 MPI ranks, scored by RMSE
// (minimized) with the correlations beside it; predict gives a number; a
// label that is not a number is refused naming its line.
TEST(Tasks, RegressionSweepLearnsARatingAndPredictsNumbers) {
  const std::string dir = testing_util::FreshDir("regression");
  Sentences gen;
  std::mt19937 rng(4);
  std::vector<std::string> words, tags;
  {
    std::ofstream out(dir + "/ratings.jsonl");
    for (int i = 0; i < 900; ++i) {
      const std::string lang = i % 2 ? "de" : "fr";
      gen.Next(lang, &words, &tags);
      const int stars = 1 + static_cast<int>(rng() % 5);
      for (int k = 1; k < stars; ++k) words.insert(words.begin() + static_cast<long>(rng() % words.size()), "bravo");
      std::string text;
      for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
      out << nlohmann::json{{"text", text}, {"label", stars}, {"lang", lang}}.dump() << "\n";
    }
  }
  const std::string run = dir + "/run";
  auto config = [&](const std::string& data) {
    std::ofstream(dir + "/rating.yaml")
        << "name: rating\noutput_dir: " << run << "\n"
        << "data: {files: [" << data << "], vocab_size: 500}\n"
        << "model: {layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 32, task: regression}\n"
        << "trial: {ranks: 2}\n"
        << "search: {space: {lr: {type: choice, values: [3.0e-3]}, batch_size: {type: choice, values: [16]}}}\n"
        << "budget: {max_trials: 1, max_steps: 150, eval_every: 50, log_every: 50}\n";
  };
  std::ofstream(dir + "/bad.jsonl") << R"({"text": "gut", "label": 4, "lang": "de"})" << "\n"
                                    << R"({"text": "gut", "label": "four", "lang": "de"})" << "\n";
  config(dir + "/bad.jsonl");
  auto bad = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(dir + "/rating.yaml"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("bad.jsonl:2: label \"four\" is not a number (model.task regression)"), std::string::npos)
      << bad.err;
  EXPECT_FALSE(std::filesystem::exists(run + "/data/manifest.json"));
  config(dir + "/ratings.jsonl");
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " sweep --overwrite " + Quote(dir + "/rating.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("pearson"), std::string::npos) << r.err;
  JournalReader j(run + "/journal.db");
  const double first = std::stod(j.Scalar("SELECT objective FROM evaluations WHERE trial_id=1 ORDER BY step LIMIT 1"));
  const double last = std::stod(j.Scalar("SELECT objective FROM evaluations WHERE trial_id=1 ORDER BY step DESC LIMIT 1"));
  EXPECT_LT(last, first);  // rmse, lower is better
  EXPECT_LT(last, 0.8);    // the ratings' own spread is sqrt(2)
  const auto report = nlohmann::json::parse(testing_util::ReadText(run + "/model/test-report.json"));
  EXPECT_GT(report["pearson"].get<double>(), 0.8) << report.dump();
  EXPECT_TRUE(report["languages"].contains("de")) << report.dump();
  std::ofstream(dir + "/text.jsonl") << R"({"text": "bravo bravo bravo", "lang": "de", "label": 4})" << "\n";
  auto p = RunCommand(std::string(POLYSWEEP_BIN) + " predict " + Quote(run + "/model") + " " + Quote(dir + "/text.jsonl"));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_TRUE(nlohmann::json::parse(p.out)["predicted"].is_number_float()) << p.out;
  EXPECT_NE(p.err.find("rmse"), std::string::npos) << p.err;  // the labelled line scored
  std::filesystem::remove_all(dir);
}

// Multi-label: each text carries "price", "quality" and "delivery" when it
// holds the word that marks each ("euro", "bravo", "post"), any number of
// them, none included; learnt over 2 MPI ranks with a threshold of 0.4, scored by micro-F1; predict gives lists of labels and
// evaluate the per-label report; a label field that is not a list is
// refused naming its line, with nothing written.
TEST(Tasks, MultiLabelSweepLearnsEachLabelAndPredictsSets) {
  const std::string dir = testing_util::FreshDir("multi-label");
  Sentences gen;
  std::mt19937 rng(6);
  std::vector<std::string> words, tags;
  const std::vector<std::pair<std::string, std::string>> markers = {
      {"euro", "price"}, {"bravo", "quality"}, {"post", "delivery"}};
  {
    std::ofstream out(dir + "/aspects.jsonl");
    for (int i = 0; i < 1200; ++i) {
      const std::string lang = i % 2 ? "de" : "fr";
      gen.Next(lang, &words, &tags);
      nlohmann::json labels = nlohmann::json::array();
      for (const auto& [word, label] : markers) {
        if (rng() % 5 >= 2) continue;
        words.insert(words.begin() + static_cast<long>(rng() % words.size()), word);
        labels.push_back(label);
      }
      std::string text;
      for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
      out << nlohmann::json{{"text", text}, {"labels", labels}, {"lang", lang}}.dump() << "\n";
    }
  }
  const std::string run = dir + "/run";
  auto config = [&](const std::string& data) {
    std::ofstream(dir + "/aspects.yaml")
        << "name: aspects\noutput_dir: " << run << "\n"
        << "data: {files: [" << data << "], vocab_size: 500}\n"
        << "model: {layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 32, task: multi_label_classification}\n"
        << "trial: {ranks: 2}\ntraining: {threshold: 0.4}\n"
        << "search: {space: {lr: {type: choice, values: [3.0e-3]}, batch_size: {type: choice, values: [16]}}}\n"
        << "budget: {max_trials: 1, max_steps: 160, eval_every: 80, log_every: 80}\n";
  };
  std::ofstream(dir + "/bad.jsonl") << R"({"text": "gut", "labels": ["price"], "lang": "de"})" << "\n"
                                    << R"({"text": "gut", "labels": "price", "lang": "de"})" << "\n";
  config(dir + "/bad.jsonl");
  auto bad = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(dir + "/aspects.yaml"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("bad.jsonl:2: field \"labels\" must be a list of labels"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(run + "/data/manifest.json"));
  config(dir + "/aspects.jsonl");
  auto r = RunCommand(std::string(POLYSWEEP_BIN) + " sweep --overwrite " + Quote(dir + "/aspects.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("micro_f1"), std::string::npos) << r.err;
  JournalReader j(run + "/journal.db");
  const double last = std::stod(j.Scalar("SELECT objective FROM evaluations WHERE trial_id=1 ORDER BY step DESC LIMIT 1"));
  EXPECT_GT(last, 0.85);  // micro-F1 of the marked labels
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM language_scores WHERE trial_id=1 AND f1 > 0.8 AND step = 160"), "2");
  const auto model = nlohmann::json::parse(testing_util::ReadText(run + "/model/model.json"));
  EXPECT_DOUBLE_EQ(model["threshold"].get<double>(), 0.4);
  // Each label counted once per text that carries it: about 40% of them.
  auto stats = RunCommand(std::string(POLYSWEEP_BIN) + " data stats -o json " + Quote(dir + "/aspects.yaml"));
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto counts = nlohmann::json::parse(stats.out)["labels"];
  for (const char* label : {"price", "quality", "delivery"}) {
    EXPECT_GT(counts[label].get<int>(), 300) << stats.out;
    EXPECT_LT(counts[label].get<int>(), 500) << stats.out;
  }
  const auto report = nlohmann::json::parse(testing_util::ReadText(run + "/model/test-report.json"));
  EXPECT_GT(report["micro"]["f1"].get<double>(), 0.85) << report.dump();
  EXPECT_TRUE(report["labels"].contains("delivery")) << report.dump();
  std::ofstream(dir + "/text.jsonl") << R"({"text": "euro post", "lang": "de", "labels": ["price", "delivery"]})"
                                     << "\n" << R"({"text": "bravo", "lang": "fr", "labels": ["quality"]})" << "\n";
  auto p = RunCommand(std::string(POLYSWEEP_BIN) + " predict " + Quote(run + "/model") + " " + Quote(dir + "/text.jsonl"));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  std::istringstream lines(p.out);
  std::string first;
  std::getline(lines, first);
  const auto row = nlohmann::json::parse(first);
  EXPECT_EQ(row["predicted"], nlohmann::json::array({"delivery", "price"})) << first;  // in the label map's order
  EXPECT_EQ(row["probabilities"].size(), 2u) << first;
  EXPECT_NE(p.err.find("micro-F1"), std::string::npos) << p.err;  // the labelled lines scored
  auto e = RunCommand(std::string(POLYSWEEP_BIN) + " evaluate " + Quote(run + "/model") + " " + Quote(dir + "/text.jsonl"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("exact match"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("quality"), std::string::npos) << e.out;
  std::filesystem::remove_all(dir);
}

// A shipped config (configs/NAME.yaml) as it is but for one short trial,
// on data its extraction script (scripts/SCRIPT) writes from python3-pattern
// into DIR/data: the sweep's stdout and stderr, and its test report.
struct ShortRun {
  testing_util::CommandResult result;
  nlohmann::json report;
};
ShortRun RunShippedConfig(const std::string& dir, const std::string& name, const std::string& script, int per_language,
                          int steps, const std::string& ext, int vocab = 0) {
  auto made = RunCommand(std::string(POLYSWEEP_SOURCE_DIR) + "/scripts/" + script + " --out " + Quote(dir + "/data") +
                         " --max-per-language " + std::to_string(per_language));
  EXPECT_EQ(made.exit_code, 0) << made.err;
  YAML::Node config = YAML::LoadFile(std::string(POLYSWEEP_SOURCE_DIR) + "/configs/" + name + ".yaml");
  config["output_dir"] = dir + "/run";
  for (const char* split : {"train", "valid", "test"}) config["data"][split][0] = dir + "/data/" + split + ext;
  if (vocab > 0) config["data"]["vocab_size"] = vocab;
  config["budget"]["max_trials"] = 1;
  config["budget"]["max_steps"] = steps;
  config["budget"]["eval_every"] = steps / 2;
  std::ofstream(dir + "/" + name + ".yaml") << YAML::Dump(config);
  ShortRun out;
  out.result = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(dir + "/" + name + ".yaml"));
  const std::string report = testing_util::ReadText(dir + "/run/model/test-report.json");
  out.report = nlohmann::json::parse(report.empty() ? "{}" : report);
  return out;
}

// configs/pos.yaml on the sentences scripts/make-pos-data extracts.
TEST(Tasks, PartOfSpeechConfigTagsSixLanguages) {
  const std::string dir = testing_util::FreshDir("pos");
  const ShortRun run = RunShippedConfig(dir, "pos", "make-pos-data", 300, 40, ".conll");
  ASSERT_EQ(run.result.exit_code, 0) << run.result.out << run.result.err;
  EXPECT_NE(run.result.err.find("word accuracy"), std::string::npos) << run.result.err;
  JournalReader j(dir + "/run/journal.db");
  EXPECT_EQ(j.Scalar("SELECT COUNT(DISTINCT lang) FROM language_scores WHERE trial_id=1 AND accuracy > 0"), "6");
  const double first = std::stod(j.Scalar("SELECT accuracy FROM evaluations WHERE trial_id=1 ORDER BY step LIMIT 1"));
  const double last = std::stod(j.Scalar("SELECT accuracy FROM evaluations WHERE trial_id=1 ORDER BY step DESC LIMIT 1"));
  EXPECT_GT(last, first);
  EXPECT_GT(last, 0.3);
  EXPECT_TRUE(run.report["labels"].contains("NN")) << run.report.dump().substr(0, 400);  // a per-tag report
  EXPECT_GT(run.report["accuracy"].get<double>(), 0.2);
  // predict computes the words' features as the shards carry them: the
  // test sentences, given as tokens, score as the test split did.
  {
    std::ifstream conll(dir + "/data/test.conll");
    std::ofstream jsonl(dir + "/test.jsonl");
    nlohmann::json row = {{"tokens", nlohmann::json::array()}, {"tags", nlohmann::json::array()}};
    for (std::string line; std::getline(conll, line);) {
      if (line.rfind("# lang = ", 0) == 0) row["lang"] = line.substr(9);
      if (line.empty() && !row["tokens"].empty()) {
        jsonl << row.dump() << "\n";
        row["tokens"] = row["tags"] = nlohmann::json::array();
      }
      const size_t tab = line.find('\t');
      if (line.empty() || line[0] == '#' || tab == std::string::npos) continue;
      row["tokens"].push_back(line.substr(0, tab));
      row["tags"].push_back(line.substr(tab + 1));
    }
  }
  auto p = RunCommand(std::string(POLYSWEEP_BIN) + " predict " + Quote(dir + "/run/model") + " " +
                      Quote(dir + "/test.jsonl") + " > /dev/null");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const size_t at = p.err.find("word accuracy ");
  ASSERT_NE(at, std::string::npos) << p.err;
  EXPECT_NEAR(std::stod(p.err.substr(at + 14)), run.report["accuracy"].get<double>(), 0.005) << p.err;
  std::filesystem::remove_all(dir);
}

// configs/reviews.yaml on the reviews scripts/make-reviews-data extracts.
TEST(Tasks, ReviewsConfigClassifiesFourLanguages) {
  const std::string dir = testing_util::FreshDir("reviews");
  const ShortRun run = RunShippedConfig(dir, "reviews", "make-reviews-data", 200, 20, ".jsonl", 1000);
  ASSERT_EQ(run.result.exit_code, 0) << run.result.out << run.result.err;
  JournalReader j(dir + "/run/journal.db");
  EXPECT_EQ(j.Scalar("SELECT COUNT(DISTINCT lang) FROM language_scores WHERE trial_id=1"), "4");
  EXPECT_TRUE(run.report["labels"].contains("pos") && run.report["labels"].contains("neg")) << run.report.dump();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
