#include "coordinator/data_prep.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/example.h"
#include "common/files.h"
#include "common/hash.h"
#include "tokenizer/tokenizer.h"

namespace polysweep {
namespace fs = std::filesystem;
namespace {

struct Row {
  Example ex;
  uint64_t order;  // hash used for capping and sampling
  Split split;
};

Status ReadRows(const DataConfig& config, std::vector<Row>* rows, int64_t* bad, const Logger& log) {
  ExampleFields fields{config.text_field, config.label_field, config.lang_field, config.group_field};
  std::set<std::string> wanted(config.languages.begin(), config.languages.end());
  std::string first_error;
  for (const std::string& file : config.files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::Error(file + ": cannot open");
    std::string line;
    int64_t lineno = 0, rows_in_file = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
      std::string where = file + ":" + std::to_string(lineno);
      StatusOr<Example> ex = static_cast<int64_t>(line.size()) > config.max_line_bytes
                                 ? StatusOr<Example>(Status::Error(
                                       "line of " + std::to_string(line.size()) +
                                       " bytes exceeds data.max_line_bytes (" +
                                       std::to_string(config.max_line_bytes) + ")"))
                                 : ParseExampleLine(line, fields);
      if (!ex.ok()) {
        ++*bad;
        if (*bad > config.max_bad_lines) {
          return Status::Error(where + ": " + ex.status().message() +
                               (config.max_bad_lines > 0
                                    ? " (" + std::to_string(*bad) + " bad lines, data.max_bad_lines is " +
                                          std::to_string(config.max_bad_lines) + ")"
                                    : ""));
        }
        log.Warn("skipping " + where + ": " + ex.status().message());
        continue;
      }
      ++rows_in_file;
      if (!wanted.empty() && !wanted.count(ex->lang)) continue;
      Row r;
      r.ex = std::move(*ex);
      const std::string& key = r.ex.group.empty() ? r.ex.text : r.ex.group;
      r.order = Mix64(Fnv1a64(r.ex.lang + '\t' + key));
      r.split = SplitOf(key, config.valid_fraction, config.test_fraction);
      rows->push_back(std::move(r));
    }
    if (in.bad()) return Status::Error(file + ": read error");
    if (rows_in_file == 0) return Status::Error(file + ": no examples in file");
  }
  return Status::Ok();
}

std::string Clean(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

Status WriteSplit(const std::string& path, const std::vector<const Row*>& rows,
                  const std::map<std::string, int>& label_ids, const std::map<std::string, int>& lang_ids) {
  std::ofstream out(path, std::ios::binary);
  for (const Row* r : rows) {
    out << label_ids.at(r->ex.label) << '\t' << lang_ids.at(r->ex.lang) << '\t' << Clean(r->ex.text) << '\n';
  }
  out.close();
  if (!out) return Status::Error(path + ": write failed");
  return Status::Ok();
}

Status TrainTokenizer(const std::vector<const Row*>& train, int vocab_size, const std::string& dir) {
  // A language-balanced sample: at most kPerLanguage sentences of each language.
  constexpr size_t kPerLanguage = 4000;
  std::map<std::string, size_t> taken;
  const std::string sample = dir + "/tokenizer-sample.txt";
  {
    std::ofstream out(sample, std::ios::binary);
    for (const Row* r : train) {
      if (taken[r->ex.lang]++ < kPerLanguage) out << Clean(r->ex.text) << '\n';
    }
    if (!out) return Status::Error(sample + ": write failed");
  }
  const unsigned threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  const std::string args = "--input=" + sample + " --model_prefix=" + dir + "/tokenizer" +
                           " --vocab_size=" + std::to_string(vocab_size) +
                           " --model_type=unigram --character_coverage=0.9995" +
                           " --pad_id=3 --hard_vocab_limit=false --minloglevel=2" +
                           " --num_threads=" + std::to_string(threads);
  Status status = Tokenizer::Train(args);
  fs::remove(sample);
  return status;
}

}  // namespace

int64_t PreparedData::split_size(Split s) const {
  int64_t n = 0;
  for (const auto& [lang, c] : counts) n += c[s];
  return n;
}

Split SplitOf(const std::string& key, double valid_fraction, double test_fraction) {
  double u = UnitInterval(Mix64(Fnv1a64(key)));
  if (u < valid_fraction) return kValid;
  if (u < valid_fraction + test_fraction) return kTest;
  return kTrain;
}

StatusOr<PreparedData> PrepareData(const DataConfig& config, const std::string& out_dir, const Logger& log) {
  std::vector<Row> rows;
  int64_t bad = 0;
  PS_RETURN_IF_ERROR(ReadRows(config, &rows, &bad, log));
  if (rows.empty()) return Status::Error("data: no examples left after the data.languages filter");

  // Deterministic order; cap each language to max_per_language by that order.
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.ex.lang != b.ex.lang ? a.ex.lang < b.ex.lang : a.order < b.order;
  });
  PreparedData data;
  data.bad_lines = bad;
  std::set<std::string> labels, langs;
  std::vector<const Row*> by_split[3];
  std::map<std::string, int64_t> per_lang;
  for (const Row& r : rows) {
    if (config.max_per_language > 0 && per_lang[r.ex.lang] >= config.max_per_language) continue;
    ++per_lang[r.ex.lang];
    labels.insert(r.ex.label);
    langs.insert(r.ex.lang);
    by_split[r.split].push_back(&r);
    data.counts[r.ex.lang][r.split]++;
  }
  data.labels.assign(labels.begin(), labels.end());
  data.languages.assign(langs.begin(), langs.end());
  if (data.labels.size() < 2) return Status::Error("data: needs at least 2 distinct labels");
  if (by_split[kTrain].empty() || by_split[kValid].empty()) {
    return Status::Error("data: train or valid split is empty; add data or raise data.valid_fraction");
  }
  // Shuffle-free but language-interleaved order for the tokenizer sample.
  std::sort(by_split[kTrain].begin(), by_split[kTrain].end(),
            [](const Row* a, const Row* b) { return a->order < b->order; });

  std::map<std::string, int> label_ids, lang_ids;
  for (size_t i = 0; i < data.labels.size(); ++i) label_ids[data.labels[i]] = static_cast<int>(i);
  for (size_t i = 0; i < data.languages.size(); ++i) lang_ids[data.languages[i]] = static_cast<int>(i);

  const std::string tmp = out_dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Status::Error(tmp + ": cannot create: " + ec.message());
  auto fail = [&](Status s) {
    fs::remove_all(tmp, ec);
    return s;
  };
  const char* names[3] = {"train.tsv", "valid.tsv", "test.tsv"};
  for (int s = 0; s < 3; ++s) {
    Status st = WriteSplit(tmp + "/" + names[s], by_split[s], label_ids, lang_ids);
    if (!st.ok()) return fail(st);
  }
  log.Info("training the SentencePiece tokenizer (vocab " + std::to_string(config.vocab_size) + ") on " +
           std::to_string(by_split[kTrain].size()) + " training texts");
  Status st = TrainTokenizer(by_split[kTrain], config.vocab_size, tmp);
  if (!st.ok()) return fail(st);

  nlohmann::json meta;
  meta["labels"] = data.labels;
  meta["languages"] = data.languages;
  meta["bad_lines"] = bad;
  for (const auto& [lang, c] : data.counts) meta["counts"][lang] = {{"train", c[0]}, {"valid", c[1]}, {"test", c[2]}};
  st = WriteFileAtomic(tmp + "/meta.json", meta.dump(2) + "\n");
  if (!st.ok()) return fail(st);
  fs::remove_all(out_dir, ec);
  fs::rename(tmp, out_dir, ec);
  if (ec) return fail(Status::Error(out_dir + ": cannot move prepared data into place: " + ec.message()));

  data.dir = out_dir;
  data.train_path = out_dir + "/train.tsv";
  data.valid_path = out_dir + "/valid.tsv";
  data.test_path = out_dir + "/test.tsv";
  data.tokenizer_path = out_dir + "/tokenizer.model";
  return data;
}

}  // namespace polysweep
