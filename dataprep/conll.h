// Reads CoNLL-style column files: one token per line, columns separated by
// white space (spaces or tabs), a blank line between sentences. The token
// and the tag are two of the columns (data.token_column, data.tag_column;
// the tag by default the last); every token line of a file has as many
// columns as its first. `-DOCSTART-` lines are skipped; a line starting
// with `#` between sentences is a comment, and `# lang = xx` sets the
// language of the sentences after it (else data.lang's). Each sentence
// becomes an Example with its words and tags.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/example.h"
#include "common/status.h"
#include "dataprep/line_reader.h"

namespace polysweep {

struct ConllColumns {
  int token = 0;
  int tag = -1;  // -1: the last column
  std::string lang;  // the language when no `# lang =` comment says one
};

class ConllReader {
 public:
  static StatusOr<std::unique_ptr<ConllReader>> Open(const std::string& path, const ConllColumns& columns,
                                                     int64_t max_line_bytes);
  enum class Result { kSentence, kBad, kEnd, kError };
  // The next sentence into `ex`, and the line it starts on. kBad: the
  // sentence was skipped (its lines read up to the next blank one) and
  // error() says why, on line `*line`; kError: the file cannot be read.
  Result Next(Example* ex, int64_t* line);
  const std::string& error() const { return error_; }
  int64_t bytes_read() const { return reader_->bytes_read(); }

 private:
  explicit ConllReader(std::unique_ptr<LineReader> reader, ConllColumns columns)
      : reader_(std::move(reader)), columns_(std::move(columns)) {}
  // Adds one token line's word and tag to `ex`; an error says what is wrong.
  Status AddToken(const std::string& line, Example* ex);
  // Reads up to the end of the current sentence.
  void SkipSentence();
  std::unique_ptr<LineReader> reader_;
  ConllColumns columns_;
  size_t column_count_ = 0;  // of the file's first token line
  std::string error_;
};

}  // namespace polysweep
