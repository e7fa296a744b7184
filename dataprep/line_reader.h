// Reads a dataset file line by line, plain or gzip-compressed (detected from
// the content), without ever holding more than `max_line_bytes` of one line:
// a longer line is consumed and reported as too long. Truncated or corrupt
// gzip data is an error naming the file and the last good line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace polysweep {

class LineReader {
 public:
  ~LineReader();
  static StatusOr<std::unique_ptr<LineReader>> Open(const std::string& path, int64_t max_line_bytes);

  enum class Result { kLine, kTooLong, kEnd, kError };
  // Reads the next line into `line` (without the newline or a trailing CR).
  // kTooLong: the line was skipped; `line` holds its length in bytes as text.
  // kError: `error()` says why.
  Result Next(std::string* line);
  int64_t line_number() const { return line_number_; }
  int64_t bytes_read() const { return bytes_read_; }
  const std::string& error() const { return error_; }

 private:
  LineReader() = default;
  bool Fill();
  void* gz_ = nullptr;
  std::string path_;
  int64_t max_line_bytes_ = 0;
  std::string buffer_;
  size_t pos_ = 0;
  bool eof_ = false;
  int64_t line_number_ = 0;
  int64_t bytes_read_ = 0;
  std::string error_;
};

}  // namespace polysweep
