#include "dataprep/read_rows.h"

#include <filesystem>
#include <set>

#include "common/hash.h"
#include "common/languages.h"
#include "common/tagged.h"
#include "dataprep/conll.h"
#include "dataprep/line_reader.h"
#include "dataprep/sharder.h"

namespace polysweep {
namespace fs = std::filesystem;
namespace {

// Whether `file` is read as `format` (tsv, conll): data.format says, or auto its extension (.gz aside).
bool IsFormat(const DataConfig& config, const std::string& file, const std::string& format) {
  if (config.format != "auto") return config.format == format;
  std::string name = file;
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) name.resize(name.size() - 3);
  const std::string ext = "." + format;
  return name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
}

// Counts a bad line (or sentence): an error once data.max_bad_lines are
// exceeded, else a warning.
struct BadLines {
  const DataConfig& config;
  const Logger& log;
  int64_t* bad;
  Status operator()(const std::string& where, const std::string& why) const {
    if (++*bad > config.max_bad_lines) {
      return Status::Error(where + ": " + why +
                           (config.max_bad_lines > 0 ? " (" + std::to_string(*bad) + " bad lines; data.max_bad_lines is " +
                                                            std::to_string(config.max_bad_lines) + ")"
                                                     : ""));
    }
    log.Warn("skipping " + where + ": " + why);
    return Status::Ok();
  }
};

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

// One line read from a file, parsed on a worker thread.
struct Parsed {
  int64_t line_number = 0;
  bool too_long = false;
  std::string text;  // the line, or its length when too long
  StatusOr<Example> example = Status::Error("not parsed");
  uint64_t order = 0;
  Split split = kTrain;
};

// Checks a parsed example against the data config (its language, its label
// or tags), and finds its order and split; a failure replaces it with why.
void CheckRow(const DataConfig& config, const std::set<std::string>& label_set, const std::optional<Split>& file_split,
              StatusOr<Example>* ex, uint64_t* order, Split* split_out) {
  if (!ex->ok()) return;
  Example& e = **ex;
  if (!IsKnownLanguage(e.lang, config.extra_languages)) {
    *ex = Status::Error("unknown language code \"" + e.lang + "\" (ISO 639-1, or list it in data.extra_languages)");
    return;
  }
  if (config.real_labels) {
    auto value = ParseRealLabel(e.label);
    if (!value.ok()) {
      *ex = value.status();
      return;
    }
  } else if (config.multi_label) {
    for (const std::string& label : e.labels) {
      if (!label_set.empty() && !label_set.count(label)) {
        *ex = Status::Error("label \"" + label + "\" is not in data.labels");
        return;
      }
    }
  } else if (!config.tagged && !label_set.empty() && !label_set.count(e.label)) {
    *ex = Status::Error("label \"" + e.label + "\" is not in data.labels");
    return;
  }
  for (size_t i = 0; i < e.tags.size(); ++i) {
    Status tag = CheckTag(e.tags[i], config.tag_scheme);
    if (tag.ok() && !label_set.empty() && !label_set.count(e.tags[i])) {
      tag = Status::Error("tag \"" + e.tags[i] + "\" is not in data.labels");
    }
    if (!tag.ok()) {
      *ex = Status::Error("word " + std::to_string(i + 1) + " (\"" + e.words[i] + "\"): " + tag.message());
      return;
    }
  }
  const std::string& key = e.group.empty() ? e.text : e.group;
  *order = Mix64(Fnv1a64(e.lang + '\t' + key));
  auto split = RowSplit(e, file_split, config);
  if (!split.ok()) {
    *ex = split.status();
    return;
  }
  *split_out = *split;
}

// Reads a CoNLL column file's sentences (dataprep/conll.h) into `rows`.
Status ReadConll(const DataConfig& config, const std::string& file, const std::optional<Split>& file_split,
                 const std::set<std::string>& wanted, const std::set<std::string>& label_set, const BadLines& bad_line,
                 std::vector<Row>* rows, int64_t* bytes) {
  auto reader = ConllReader::Open(file, ConllColumns{config.token_column, config.tag_column, config.lang},
                                  config.max_line_bytes);
  if (!reader.ok()) return reader.status();
  int64_t sentences = 0;
  while (true) {
    StatusOr<Example> ex = Example{};
    int64_t line = 0;
    const ConllReader::Result r = (*reader)->Next(&*ex, &line);
    if (r == ConllReader::Result::kEnd) break;
    if (r == ConllReader::Result::kError) return Status::Error(file + ": " + (*reader)->error());
    if (r == ConllReader::Result::kBad) {
      PS_RETURN_IF_ERROR(bad_line(file + ":" + std::to_string(line), (*reader)->error()));
      continue;
    }
    Row row{Example{}, 0, kTrain};
    CheckRow(config, label_set, file_split, &ex, &row.order, &row.split);
    if (!ex.ok()) {
      PS_RETURN_IF_ERROR(bad_line(file + ":" + std::to_string(line), ex.status().message()));
      continue;
    }
    ++sentences;
    if (!wanted.empty() && !wanted.count(ex->lang)) continue;
    row.ex = std::move(*ex);
    rows->push_back(std::move(row));
  }
  *bytes += (*reader)->bytes_read();
  if (sentences == 0) return Status::Error(file + ": no sentences in file");
  return Status::Ok();
}

}  // namespace

std::vector<std::pair<std::string, std::optional<Split>>> DataFiles(const DataConfig& c) {
  std::vector<std::pair<std::string, std::optional<Split>>> out;
  for (const auto& f : c.files) out.emplace_back(f, std::nullopt);
  for (const auto& [files, split] : {std::pair{&c.train_files, kTrain}, std::pair{&c.valid_files, kValid},
                                     std::pair{&c.test_files, kTest}}) {
    for (const auto& f : *files) out.emplace_back(f, split);
  }
  return out;
}

// Reads and validates every line of every file: lines are read in batches,
// parsed on all threads, then taken in file order (so the first bad line
// reported is the first in the file).
Status ReadRows(const DataConfig& config, int threads, std::vector<Row>* rows, int64_t* bad, int64_t* bytes,
                const Logger& log) {
  constexpr size_t kBatch = 8192;
  ExampleFields fields{config.text_field, config.label_field, config.lang_field, config.group_field,
                       config.text_pair_field, config.split_field};
  if (config.tagged) {
    fields.tokens = config.tokens_field;
    fields.tags = config.tags_field;
  }
  fields.numeric_label = config.real_labels;
  if (config.multi_label) fields.label_separator = config.label_separator;
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
    if (IsFormat(config, file, "conll")) {
      PS_RETURN_IF_ERROR(ReadConll(config, file, file_split, wanted, label_set, BadLines{config, log, bad}, rows, bytes));
      before = *bytes;
      progress.Set(static_cast<double>(before));
      continue;
    }
    const bool tsv = IsFormat(config, file, "tsv");
    TsvColumns columns;
    bool have_header = false, done = false;
    int64_t examples = 0;
    auto bad_line = [&](int64_t line_number, const std::string& why) -> Status {
      return BadLines{config, log, bad}(file + ":" + std::to_string(line_number), why);
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
        CheckRow(config, label_set, file_split, &p.example, &p.order, &p.split);
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

}  // namespace polysweep
