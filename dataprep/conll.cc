#include "dataprep/conll.h"

#include <vector>

namespace polysweep {

namespace {

std::vector<std::string> Columns(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    i = line.find_first_not_of(" \t", i);
    if (i == std::string::npos) break;
    const size_t end = line.find_first_of(" \t", i);
    out.push_back(line.substr(i, end == std::string::npos ? std::string::npos : end - i));
    if (end == std::string::npos) break;
    i = end;
  }
  return out;
}

bool Blank(const std::string& line) { return line.find_first_not_of(" \t") == std::string::npos; }

// "# lang = de" (spaces optional) -> "de"; anything else -> "".
std::string LangComment(const std::string& line) {
  auto cols = Columns(line.substr(1));
  if (cols.size() == 3 && cols[0] == "lang" && cols[1] == "=") return cols[2];
  if (cols.size() == 1 && cols[0].rfind("lang=", 0) == 0) return cols[0].substr(5);
  if (cols.size() == 2 && cols[0] == "lang" && cols[1].rfind("=", 0) == 0) return cols[1].substr(1);
  return "";
}

}  // namespace

StatusOr<std::unique_ptr<ConllReader>> ConllReader::Open(const std::string& path, const ConllColumns& columns,
                                                         int64_t max_line_bytes) {
  auto reader = LineReader::Open(path, max_line_bytes);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<ConllReader>(new ConllReader(std::move(*reader), columns));
}

Status ConllReader::AddToken(const std::string& line, Example* ex) {
  const size_t bad = FindInvalidUtf8(line);
  if (bad != std::string::npos) return Status::Error("invalid UTF-8 at byte " + std::to_string(bad + 1));
  const auto cols = Columns(line);
  if (column_count_ == 0) {
    const int needed = std::max(columns_.token, columns_.tag) + 1;
    if (static_cast<int>(cols.size()) < std::max(needed, 2)) {
      return Status::Error(std::to_string(cols.size()) + " column" + (cols.size() == 1 ? "" : "s") +
                           ", but data.token_column and data.tag_column need " + std::to_string(std::max(needed, 2)));
    }
    column_count_ = cols.size();
  }
  if (cols.size() != column_count_) {
    return Status::Error("expected " + std::to_string(column_count_) + " columns (as the file's first token line), got " +
                         std::to_string(cols.size()));
  }
  const size_t tag = columns_.tag < 0 ? cols.size() - 1 : static_cast<size_t>(columns_.tag);
  ex->words.push_back(cols[static_cast<size_t>(columns_.token)]);
  ex->tags.push_back(cols[tag]);
  return Status::Ok();
}

void ConllReader::SkipSentence() {
  std::string line;
  while (true) {
    const LineReader::Result r = reader_->Next(&line);
    if (r == LineReader::Result::kEnd || r == LineReader::Result::kError) return;
    if (r == LineReader::Result::kLine && Blank(line)) return;
  }
}

ConllReader::Result ConllReader::Next(Example* ex, int64_t* start) {
  *ex = Example{};
  std::string line;
  while (true) {
    const LineReader::Result r = reader_->Next(&line);
    if (r == LineReader::Result::kError) {
      error_ = reader_->error();
      return Result::kError;
    }
    const bool in_sentence = !ex->words.empty();
    if (r == LineReader::Result::kEnd || (r == LineReader::Result::kLine && Blank(line))) {
      if (in_sentence) break;
      if (r == LineReader::Result::kEnd) return Result::kEnd;
      continue;
    }
    if (r == LineReader::Result::kTooLong) {
      *start = reader_->line_number();
      error_ = "line of " + line + " bytes exceeds data.max_line_bytes";
      SkipSentence();
      return Result::kBad;
    }
    if (!in_sentence && line[0] == '#') {
      if (std::string lang = LangComment(line); !lang.empty()) columns_.lang = lang;
      continue;
    }
    if (!in_sentence && line.rfind("-DOCSTART-", 0) == 0) continue;
    if (!in_sentence) *start = reader_->line_number();
    if (Status s = AddToken(line, ex); !s.ok()) {
      *start = reader_->line_number();
      error_ = s.message();
      SkipSentence();
      return Result::kBad;
    }
  }
  ex->lang = columns_.lang;
  ex->text = JoinWords(ex->words);
  if (ex->lang.empty()) {
    error_ = "no language: set data.lang, or write a \"# lang = xx\" line before the sentence";
    return Result::kBad;
  }
  return Result::kSentence;
}

}  // namespace polysweep
