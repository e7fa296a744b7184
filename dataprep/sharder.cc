#include "dataprep/sharder.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/example.h"
#include "common/files.h"
#include "common/progress.h"
#include "common/hash.h"
#include "common/languages.h"
#include "common/shard.h"
#include "dataprep/line_reader.h"
#include "tokenizer/tokenizer.h"

namespace polysweep {
namespace fs = std::filesystem;
namespace {

struct Row {
  Example ex;
  uint64_t order;  // a hash: the deterministic order used for capping and sampling
  Split split;
};

bool IsTsv(const DataConfig& config, const std::string& file) {
  if (config.format != "auto") return config.format == "tsv";
  std::string name = file;
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) name.resize(name.size() - 3);
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".tsv") == 0;
}

// Progress of a sharding step: redrawn in place on a terminal, plain lines
// in a log.
ProgressOptions ProgressFor(const std::string& unit, double scale) {
  ProgressOptions o;
  o.unit = unit;
  o.unit_scale = scale;
  o.terminal = StderrIsTerminal();
  return o;
}

// Runs fn(i) for i in [0, n) on `threads` threads.
template <typename Fn>
void ParallelFor(size_t n, int threads, Fn fn) {
  if (threads <= 1 || n < 64) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < n; i += static_cast<size_t>(threads)) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

// One line read from a file, parsed on a worker thread.
// Every data file with the split its rows all go to: data.train, data.valid
// and data.test name theirs; data.files' rows are split by row.
std::vector<std::pair<std::string, std::optional<Split>>> DataFiles(const DataConfig& c) {
  std::vector<std::pair<std::string, std::optional<Split>>> out;
  for (const auto& f : c.files) out.emplace_back(f, std::nullopt);
  for (const auto& [files, split] : {std::pair{&c.train_files, kTrain}, std::pair{&c.valid_files, kValid},
                                     std::pair{&c.test_files, kTest}}) {
    for (const auto& f : *files) out.emplace_back(f, split);
  }
  return out;
}

// A row's split: its file's, else the one its split field names, else the
// hash of its group (or text).
StatusOr<Split> RowSplit(const Example& ex, const std::optional<Split>& file_split, const DataConfig& config) {
  if (file_split) return *file_split;
  if (!config.split_field.empty()) {
    auto named = ParseSplit(ex.split);
    if (!named.ok()) return Status::Error("data.split_field \"" + config.split_field + "\": " + named.status().message());
    return *named;
  }
  return SplitOf(ex.group.empty() ? ex.text : ex.group, config.valid_fraction, config.test_fraction);
}

struct Parsed {
  int64_t line_number = 0;
  bool too_long = false;
  std::string text;  // the line, or its length when too long
  StatusOr<Example> example = Status::Error("not parsed");
  uint64_t order = 0;
  Split split = kTrain;
};

// Reads and validates every line of every file: lines are read in batches,
// parsed on all threads, then taken in file order (so the first bad line
// reported is the first in the file).
Status ReadRows(const DataConfig& config, int threads, std::vector<Row>* rows, int64_t* bad, int64_t* bytes,
                const Logger& log) {
  constexpr size_t kBatch = 8192;
  ExampleFields fields{config.text_field, config.label_field, config.lang_field, config.group_field,
                       config.text_pair_field, config.split_field};
  const auto files = DataFiles(config);
  const std::set<std::string> wanted(config.languages.begin(), config.languages.end());
  const std::set<std::string> label_set(config.labels.begin(), config.labels.end());
  uint64_t total_bytes = 0;
  for (const auto& [file, split] : files) {
    std::error_code ec;
    total_bytes += fs::file_size(file, ec);
  }
  Progress progress("reading " + std::to_string(files.size()) + " data file" + (files.size() == 1 ? "" : "s"),
                    static_cast<double>(total_bytes), ProgressFor("MB", 1e6));
  int64_t before = 0;  // bytes of the files already read
  for (const auto& [file, file_split] : files) {
    auto reader = LineReader::Open(file, config.max_line_bytes);
    if (!reader.ok()) return reader.status();
    const bool tsv = IsTsv(config, file);
    TsvColumns columns;
    bool have_header = false, done = false;
    int64_t examples = 0;
    auto bad_line = [&](int64_t line_number, const std::string& why) -> Status {
      const std::string where = file + ":" + std::to_string(line_number);
      if (++*bad > config.max_bad_lines) {
        return Status::Error(where + ": " + why +
                             (config.max_bad_lines > 0 ? " (" + std::to_string(*bad) + " bad lines; data.max_bad_lines is " +
                                                              std::to_string(config.max_bad_lines) + ")"
                                                       : ""));
      }
      log.Warn("skipping " + where + ": " + why);
      return Status::Ok();
    };
    std::vector<Parsed> batch;
    while (!done) {
      batch.clear();
      std::string line;
      while (batch.size() < kBatch) {
        LineReader::Result r = (*reader)->Next(&line);
        if (r == LineReader::Result::kEnd) {
          done = true;
          break;
        }
        if (r == LineReader::Result::kError) return Status::Error(file + ": " + (*reader)->error());
        const bool too_long = r == LineReader::Result::kTooLong;
        if (!too_long && line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
        if (!too_long && tsv && !have_header) {
          auto c = ParseTsvHeader(line, fields);
          if (!c.ok()) return Status::Error(file + ":" + std::to_string((*reader)->line_number()) + ": " + c.status().message());
          columns = *c;
          have_header = true;
          continue;
        }
        Parsed p;
        p.line_number = (*reader)->line_number();
        p.too_long = too_long;
        p.text = std::move(line);
        batch.push_back(std::move(p));
      }
      ParallelFor(batch.size(), threads, [&](size_t i) {
        Parsed& p = batch[i];
        if (p.too_long) return;
        p.example = tsv ? ParseTsvLine(p.text, columns) : ParseExampleLine(p.text, fields);
        StatusOr<Example>& ex = p.example;
        if (ex.ok() && !IsKnownLanguage(ex->lang, config.extra_languages)) {
          ex = Status::Error("unknown language code \"" + ex->lang + "\" (ISO 639-1, or list it in data.extra_languages)");
        }
        if (ex.ok() && !label_set.empty() && !label_set.count(ex->label)) {
          ex = Status::Error("label \"" + ex->label + "\" is not in data.labels");
        }
        if (!ex.ok()) return;
        const std::string& key = ex->group.empty() ? ex->text : ex->group;
        p.order = Mix64(Fnv1a64(ex->lang + '\t' + key));
        auto split = RowSplit(*ex, file_split, config);
        if (!split.ok()) {
          ex = split.status();
          return;
        }
        p.split = *split;
      });
      for (Parsed& p : batch) {
        if (p.too_long) {
          PS_RETURN_IF_ERROR(bad_line(p.line_number, "line of " + p.text + " bytes exceeds data.max_line_bytes (" +
                                                         std::to_string(config.max_line_bytes) + ")"));
          continue;
        }
        if (!p.example.ok()) {
          PS_RETURN_IF_ERROR(bad_line(p.line_number, p.example.status().message()));
          continue;
        }
        ++examples;
        if (!wanted.empty() && !wanted.count(p.example->lang)) continue;
        rows->push_back(Row{std::move(*p.example), p.order, p.split});
      }
      progress.Set(static_cast<double>(before + (*reader)->bytes_read()));
    }
    before += (*reader)->bytes_read();
    *bytes += (*reader)->bytes_read();
    if (examples == 0) return Status::Error(file + ": no examples in file");
  }
  return Status::Ok();
}

std::string OneLine(const std::string& text) {
  std::string out = text;
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

Status TrainTokenizer(const DataConfig& config, const std::vector<const Row*>& train, const std::string& dir,
                      int threads) {
  // A language-balanced sample: at most kPerLanguage sentences of each language.
  constexpr int64_t kPerLanguage = 4000;
  std::map<std::string, int64_t> taken;
  const std::string sample = dir + "/tokenizer-sample.txt";
  {
    std::ofstream out(sample, std::ios::binary);
    for (const Row* r : train) {
      if (taken[r->ex.lang]++ >= kPerLanguage) continue;
      out << OneLine(r->ex.text) << '\n';
      if (!r->ex.text_pair.empty()) out << OneLine(r->ex.text_pair) << '\n';
    }
    if (!out) return Status::Error(sample + ": write failed");
  }
  const std::string args = "--input=" + sample + " --model_prefix=" + dir + "/tokenizer" +
                           " --vocab_size=" + std::to_string(config.vocab_size) + " --model_type=" +
                           config.tokenizer_type + " --character_coverage=0.9995" +
                           " --pad_id=3 --hard_vocab_limit=false --minloglevel=2" +
                           " --num_threads=" + std::to_string(threads);
  Status status;
  {
    ProgressOptions options = ProgressFor("", 1);
    options.ticker = true;  // SentencePiece tells nothing while it trains: the elapsed time moves
    Progress progress("training the tokenizer", 0, options);
    status = Tokenizer::Train(args);
  }
  fs::remove(sample);
  fs::remove(dir + "/tokenizer.vocab");
  return status.With("data.vocab_size " + std::to_string(config.vocab_size));
}

// Each row's ids, and where a pair's second text begins among them.
struct EncodedRows {
  std::vector<std::vector<int>> ids;
  std::vector<uint32_t> pair_starts;  // empty: single texts
};

// Encodes row i: its text (at most max_tokens ids), or its pair (at most
// pair_max_tokens, the longer text truncated first).
Status EncodeRow(const Tokenizer& tokenizer, const DataConfig& config, const Row& row, size_t i, EncodedRows* out) {
  if (config.text_pair_field.empty()) {
    return tokenizer.Encode(row.ex.text, static_cast<size_t>(config.max_tokens), &out->ids[i]);
  }
  size_t second = 0;
  PS_RETURN_IF_ERROR(tokenizer.EncodePair(row.ex.text, row.ex.text_pair,
                                          static_cast<size_t>(config.pair_max_tokens), &out->ids[i], &second));
  out->pair_starts[i] = static_cast<uint32_t>(second);
  return Status::Ok();
}

// Encodes every row on `threads` threads.
Status Encode(const Tokenizer& tokenizer, const DataConfig& config, const std::vector<const Row*>& rows,
              int threads, EncodedRows* encoded) {
  std::vector<std::vector<int>>* ids = &encoded->ids;
  ids->assign(rows.size(), {});
  if (!config.text_pair_field.empty()) encoded->pair_starts.assign(rows.size(), 0);
  std::mutex mu;
  Status failed;
  Progress progress("tokenizing", static_cast<double>(rows.size()), ProgressFor("texts", 1));
  ParallelFor(rows.size(), threads, [&](size_t i) {
    if (i % 1024 == 0) progress.Add(std::min<double>(1024, static_cast<double>(rows.size() - i)));
    Status s = EncodeRow(tokenizer, config, *rows[i], i, encoded);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu);
      failed = s;
    } else if ((*ids)[i].empty()) {
      (*ids)[i].push_back(tokenizer.unk_id());
    }
  });
  return failed;
}

bool UpToDate(const std::string& dir, const std::string& fingerprint, Manifest* out) {
  auto m = LoadManifest(dir + "/manifest.json");
  if (!m.ok() || m->fingerprint != fingerprint) return false;
  std::error_code ec;
  for (const auto& s : m->shards) {
    if (fs::file_size(dir + "/" + s.file, ec) != static_cast<uintmax_t>(s.bytes) || ec) return false;
  }
  if (!fs::exists(dir + "/" + m->tokenizer_file, ec)) return false;
  *out = std::move(*m);
  return true;
}

}  // namespace

Split SplitOf(const std::string& key, double valid_fraction, double test_fraction) {
  const double u = UnitInterval(Mix64(Fnv1a64(key)));
  if (u < valid_fraction) return kValid;
  if (u < valid_fraction + test_fraction) return kTest;
  return kTrain;
}

std::string DataFingerprint(const DataConfig& c) {
  std::string s = "v1";
  auto add = [&](const std::string& x) { s += '\x1f' + x; };
  for (const auto& [f, split] : DataFiles(c)) {
    std::error_code ec;
    add(fs::absolute(f).string());
    add(std::to_string(fs::file_size(f, ec)));
    add(std::to_string(fs::last_write_time(f, ec).time_since_epoch().count()));
    if (split) add(std::string("split:") + SplitName(*split));
  }
  for (const auto& x : {c.format, c.text_field, c.label_field, c.lang_field, c.group_field, c.tokenizer,
                        c.tokenizer_type, std::string(TokenIdsName(c.token_ids))}) add(x);
  for (const auto& l : c.languages) add("lang:" + l);
  for (const auto& l : c.labels) add("label:" + l);
  for (const auto& l : c.extra_languages) add("extra:" + l);
  for (double v : {static_cast<double>(c.max_per_language), c.valid_fraction, c.test_fraction,
                   static_cast<double>(c.vocab_size), static_cast<double>(c.max_bad_lines),
                   static_cast<double>(c.max_line_bytes), static_cast<double>(c.max_tokens)}) {
    add(std::to_string(v));
  }
  if (!c.tokenizer.empty()) {
    std::error_code ec;
    add(std::to_string(fs::last_write_time(c.tokenizer, ec).time_since_epoch().count()));
  }
  // Pairs are truncated to the model's length as they are encoded (single texts are not: unchanged).
  if (!c.text_pair_field.empty()) add("pair:" + c.text_pair_field + ":" + std::to_string(c.pair_max_tokens));
  if (!c.split_field.empty()) add("split_field:" + c.split_field);
  return ChecksumHex(Fnv1a64(s));
}

namespace {

// Orders the rows deterministically, caps each language in that order, and
// fills the manifest's labels, languages and counts. Returns the kept rows.
StatusOr<std::vector<const Row*>> SelectRows(const DataConfig& config, const std::vector<Row>& rows, Manifest* m) {
  std::vector<const Row*> sorted;
  sorted.reserve(rows.size());
  for (const Row& r : rows) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(), [](const Row* a, const Row* b) {
    return a->ex.lang != b->ex.lang ? a->ex.lang < b->ex.lang : a->order < b->order;
  });
  // Unlabelled text (model.task masked_lm sets no label field): no label map, every label 0.
  const bool labelled = !config.label_field.empty();
  std::set<std::string> labels(config.labels.begin(), config.labels.end()), langs;
  std::vector<const Row*> kept;
  std::map<std::string, int64_t> per_lang;
  for (const Row* r : sorted) {
    if (config.max_per_language > 0 && per_lang[r->ex.lang] >= config.max_per_language) continue;
    ++per_lang[r->ex.lang];
    if (labelled) labels.insert(r->ex.label);
    langs.insert(r->ex.lang);
    kept.push_back(r);
    m->counts[r->ex.lang][r->split]++;
  }
  m->labels.assign(labels.begin(), labels.end());
  m->languages.assign(langs.begin(), langs.end());
  if (labelled && m->labels.size() < 2) return Status::DataError("data: needs at least 2 distinct labels");
  if (m->split_size(kTrain) == 0 || m->split_size(kValid) == 0) {
    const bool published = !config.split_field.empty() || !config.train_files.empty() || !config.valid_files.empty();
    return Status::DataError(std::string("data: the ") + (m->split_size(kTrain) == 0 ? "train" : "valid") +
                             " split is empty; " +
                             (published ? "the data's own split (data.split_field, data.train, data.valid) has none"
                                        : "add data or raise data.valid_fraction"));
  }
  return kept;
}

// Trains the tokenizer on the kept training rows (or copies data.tokenizer)
// into `tmp`, records it in the manifest, and loads it.
StatusOr<std::unique_ptr<Tokenizer>> PrepareTokenizer(const DataConfig& config, const std::vector<const Row*>& kept,
                                                      const std::string& tmp, int threads, const Logger& log,
                                                      Manifest* m) {
  if (config.tokenizer.empty()) {
    std::vector<const Row*> train;
    for (const Row* r : kept) {
      if (r->split == kTrain) train.push_back(r);
    }
    std::sort(train.begin(), train.end(), [](const Row* a, const Row* b) { return a->order < b->order; });
    log.Info("training the SentencePiece tokenizer (" + config.tokenizer_type + ", vocab " +
             std::to_string(config.vocab_size) + ") on a language-balanced sample of " +
             std::to_string(train.size()) + " training texts");
    PS_RETURN_IF_ERROR(TrainTokenizer(config, train, tmp, threads));
    m->tokenizer_file = "tokenizer.model";
  } else {
    auto file = Tokenizer::CopyInto(config.tokenizer, config.token_ids, tmp);
    if (!file.ok()) return file.status().With("data.tokenizer");
    m->tokenizer_file = *file;
  }
  const std::string path = tmp + "/" + m->tokenizer_file;
  auto model_bytes = ReadFile(path);
  if (!model_bytes.ok()) return model_bytes.status();
  m->tokenizer_hash = ChecksumHex(Fnv1a64(*model_bytes));
  auto tokenizer = Tokenizer::Load(path, config.token_ids);
  if (!tokenizer.ok()) return tokenizer.status().With("data.tokenizer");
  m->vocab_size = (*tokenizer)->vocab_size();
  m->token_ids = config.token_ids;
  if (config.checkpoint_vocab > 0 && m->vocab_size != config.checkpoint_vocab) {
    return Status::InvalidConfig(config.tokenizer + ": " + std::to_string(m->vocab_size) + " token ids (" +
                                 TokenIdsName(config.token_ids) + "), but the checkpoint's vocab_size is " +
                                 std::to_string(config.checkpoint_vocab) + ": not the tokenizer it was trained with");
  }
  m->mask_id = (*tokenizer)->pad_id();
  return std::move(*tokenizer);
}

// Writes one shard per (split, language) of the kept rows' `ids` into
// `tmp`, in sorted order, and lists them in the manifest.
Status WriteShards(const std::vector<const Row*>& kept, const EncodedRows& encoded, const std::string& tmp,
                   Manifest* m) {
  std::map<std::string, int> label_id, lang_id;
  for (size_t i = 0; i < m->labels.size(); ++i) label_id[m->labels[i]] = static_cast<int>(i);
  for (size_t i = 0; i < m->languages.size(); ++i) lang_id[m->languages[i]] = static_cast<int>(i);
  // One pass groups the examples by (split, language), in sorted order.
  std::map<std::pair<int, int>, ShardData> groups;
  for (size_t i = 0; i < kept.size(); ++i) {
    const Row& r = *kept[i];
    const int lang = lang_id[r.ex.lang];
    const std::vector<int32_t> label{label_id[r.ex.label]};
    const uint32_t pair_start = encoded.pair_starts.empty() ? 0 : encoded.pair_starts[i];
    groups[{r.split, lang}].AddPair(encoded.ids[i], label, static_cast<uint16_t>(lang), pair_start);
  }
  for (const auto& [key, data] : groups) {
    ShardEntry e;
    e.split = static_cast<Split>(key.first);
    e.language = m->languages[static_cast<size_t>(key.second)];
    e.file = std::string(SplitName(e.split)) + "-" + e.language + ".bin";
    auto info = WriteShard(tmp + "/" + e.file, data);
    if (!info.ok()) return info.status();
    e.examples = static_cast<int64_t>(data.size());
    e.tokens = static_cast<int64_t>(data.tokens.size());
    e.bytes = static_cast<int64_t>(info->bytes);
    e.checksum = ChecksumHex(info->checksum);
    m->shards.push_back(e);
  }
  return WriteFileAtomic(tmp + "/manifest.json", ManifestToJson(*m));
}

// Tokenizes the kept rows and writes the shards and manifest into `tmp`.
Status BuildShards(const DataConfig& config, const std::vector<const Row*>& kept, const std::string& tmp,
                   int threads, const Logger& log, Manifest* m) {
  auto tokenizer = PrepareTokenizer(config, kept, tmp, threads, log, m);
  if (!tokenizer.ok()) return tokenizer.status();
  EncodedRows encoded;
  PS_RETURN_IF_ERROR(Encode(**tokenizer, config, kept, threads, &encoded));
  return WriteShards(kept, encoded, tmp, m);
}

}  // namespace

// Reads, selects, tokenizes and writes into `<shard_dir>.tmp`, then moves
// it into place: a failure leaves the previous shards as they were.
StatusOr<ShardOutcome> ShardDataset(const DataConfig& config, const Logger& log, bool force) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string dir = config.shard_dir;
  ShardOutcome outcome;
  outcome.dir = dir;
  const std::string fingerprint = DataFingerprint(config);
  if (!force && UpToDate(dir, fingerprint, &outcome.manifest)) return outcome;

  const int threads = config.threads > 0 ? config.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<Row> rows;
  int64_t bad = 0, bytes = 0;
  PS_RETURN_IF_ERROR(ReadRows(config, threads, &rows, &bad, &bytes, log));
  if (rows.empty()) return Status::DataError("data: no examples left after the data.languages filter");
  Manifest& m = outcome.manifest;
  m.fingerprint = fingerprint;
  m.bad_lines = bad;
  m.input_bytes = bytes;
  auto kept = SelectRows(config, rows, &m);
  if (!kept.ok()) return kept.status();

  const std::string tmp = dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Status::Error(tmp + ": cannot create: " + ec.message());
  if (Status s = BuildShards(config, *kept, tmp, threads, log, &m); !s.ok()) {
    fs::remove_all(tmp, ec);
    return s;
  }
  fs::remove_all(dir, ec);
  fs::create_directories(fs::path(dir).parent_path().empty() ? fs::path(".") : fs::path(dir).parent_path(), ec);
  fs::rename(tmp, dir, ec);
  if (ec) {
    Status moved = Status::Error(dir + ": cannot move the shards into place: " + ec.message());
    fs::remove_all(tmp, ec);
    return moved;
  }
  outcome.rebuilt = true;
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return outcome;
}

}  // namespace polysweep
