#include "dataprep/sharder.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
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
#include "common/tagged.h"
#include "common/word_features.h"
#include "dataprep/read_rows.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/words.h"

namespace polysweep {
namespace fs = std::filesystem;
namespace {

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
  std::vector<std::vector<int32_t>> tags;  // tagged rows: each id's label value (common/tagged.h); else empty
  std::vector<std::vector<uint32_t>> features;  // tagged rows: each id's word features; else empty
  std::map<std::string, int> tag_ids;      // the label map, for tagged rows
  std::atomic<int64_t> words = 0, words_cut = 0;  // tagged rows: words, and words without a piece (truncated)
};

// A tagged row's ids, and each id's label value: its word's tag on the
// word's first piece; on a later piece kLaterPiece + the tag with
// data.label_all_pieces, else kUntaggedPiece, as on special tokens; and
// each id's word features (common/word_features.h), its word's.
Status EncodeTagged(const Tokenizer& tokenizer, const DataConfig& config, const Row& row, size_t i, EncodedRows* out) {
  WordPieces pieces;
  PS_RETURN_IF_ERROR(EncodeWords(tokenizer, row.ex.words, static_cast<size_t>(config.max_tokens), &pieces));
  std::vector<int32_t>& labels = out->tags[i];
  for (size_t k = 0; k < pieces.ids.size(); ++k) {
    const int word = pieces.word[k];
    const int32_t tag = word == kNoWord ? kUntaggedPiece : out->tag_ids.at(row.ex.tags[static_cast<size_t>(word)]);
    if (word == kNoWord || pieces.first[k]) labels.push_back(tag);
    else labels.push_back(config.label_all_pieces ? kLaterPiece + tag : kUntaggedPiece);
  }
  out->features[i] = PieceWordFeatures(row.ex.words, pieces.word, row.ex.lang);
  out->ids[i] = std::move(pieces.ids);
  out->words += static_cast<int64_t>(row.ex.words.size());
  out->words_cut += static_cast<int64_t>(row.ex.words.size() - pieces.words_kept);
  return Status::Ok();
}

// Encodes row i: its text (at most max_tokens ids), or its pair (at most
// pair_max_tokens, the longer text truncated first).
Status EncodeRow(const Tokenizer& tokenizer, const DataConfig& config, const Row& row, size_t i, EncodedRows* out) {
  if (config.tagged) return EncodeTagged(tokenizer, config, row, i, out);
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
  if (config.tagged) encoded->tags.assign(rows.size(), {});
  if (config.tagged) encoded->features.assign(rows.size(), {});
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
      if (config.tagged) encoded->tags[i].push_back(kUntaggedPiece);
      if (config.tagged) encoded->features[i].assign(kWordFeatures, kNoFeature);
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
  if (c.real_labels) add("real_labels");
  if (c.multi_label) add("multi_label:" + c.label_separator);
  if (c.tagged) {
    add("tagged:" + c.tokens_field + ":" + c.tags_field + ":" + c.lang + ":" + TagSchemeName(c.tag_scheme) + ":" +
        std::to_string(c.token_column) + ":" + std::to_string(c.tag_column) + ":" + std::to_string(c.label_all_pieces) +
        ":word_features" + std::to_string(kWordFeatures));  // since shard version 4
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

// The scheme of a tagged dataset's tags: data.tag_scheme's, or with auto
// the one the tag set is in. A metric that counts entity spans needs one
// that has them.
Status ResolveTagScheme(const DataConfig& config, Manifest* m) {
  m->tag_scheme = config.tag_scheme == TagScheme::kAuto ? DetectTagScheme(m->labels) : config.tag_scheme;
  if (HasSpans(m->tag_scheme) || !config.needs_spans) return Status::Ok();
  std::string some;
  for (size_t i = 0; i < m->labels.size() && i < 5; ++i) some += (i ? ", " : "") + m->labels[i];
  return Status::DataError("data: the tags (" + some + (m->labels.size() > 5 ? ", ..." : "") +
                           ") are not entity tags (O, B-TYPE, I-TYPE, E-TYPE, S-TYPE), so the metric has no spans "
                           "to count: for part-of-speech or other plain tags set data.tag_scheme: none (the metric "
                           "is then accuracy)");
}

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
    if (config.tagged) labels.insert(r->ex.tags.begin(), r->ex.tags.end());
    else if (config.multi_label) labels.insert(r->ex.labels.begin(), r->ex.labels.end());
    else if (labelled && !config.real_labels) labels.insert(r->ex.label);
    langs.insert(r->ex.lang);
    kept.push_back(r);
    m->counts[r->ex.lang][r->split]++;
  }
  m->labels.assign(labels.begin(), labels.end());
  m->real_labels = config.real_labels;
  m->multi_label = config.multi_label;
  m->languages.assign(langs.begin(), langs.end());
  if (labelled && !config.real_labels && m->labels.size() < 2) {
    return Status::DataError(std::string("data: needs at least 2 distinct ") + (config.tagged ? "tags" : "labels"));
  }
  if (config.tagged) PS_RETURN_IF_ERROR(ResolveTagScheme(config, m));
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
// A regression label as the shards store it: its float32's bits (checked when read).
int32_t RealLabelBits(const std::string& label) {
  const float value = ParseRealLabel(label).value();
  int32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

// A row's label span: its tags' ids, its number's bits, its labels' ids
// (multi-label: sorted), or its label's id.
std::vector<int32_t> LabelSpan(const Row& r, const EncodedRows& encoded, size_t i, const Manifest& m,
                               const std::map<std::string, int>& label_id) {
  if (!encoded.tags.empty()) return encoded.tags[i];
  if (m.real_labels) return {RealLabelBits(r.ex.label)};
  if (!m.multi_label) return {label_id.count(r.ex.label) ? label_id.at(r.ex.label) : 0};
  std::vector<int32_t> ids;
  for (const std::string& label : r.ex.labels) ids.push_back(label_id.at(label));
  std::sort(ids.begin(), ids.end());
  return ids;
}

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
    const std::vector<int32_t> label = LabelSpan(r, encoded, i, *m, label_id);
    const uint32_t pair_start = encoded.pair_starts.empty() ? 0 : encoded.pair_starts[i];
    ShardData& data = groups[{r.split, lang}];
    data.AddPair(encoded.ids[i], label, static_cast<uint16_t>(lang), pair_start);
    if (!encoded.features.empty()) {
      data.features.insert(data.features.end(), encoded.features[i].begin(), encoded.features[i].end());
    }
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
  for (size_t i = 0; i < m->labels.size(); ++i) encoded.tag_ids[m->labels[i]] = static_cast<int>(i);
  PS_RETURN_IF_ERROR(Encode(**tokenizer, config, kept, threads, &encoded));
  if (encoded.words_cut > 0) {
    log.Warn(std::to_string(encoded.words_cut.load()) + " of " + std::to_string(encoded.words.load()) +
             " words are past data.max_tokens (" + std::to_string(config.max_tokens) +
             " pieces): they are neither trained nor scored");
  }
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
