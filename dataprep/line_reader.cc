#include "dataprep/line_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace polysweep {
namespace {
constexpr unsigned kChunk = 1 << 20;
}

LineReader::~LineReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

StatusOr<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path, int64_t max_line_bytes) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) return Status::Error(path + ": cannot open: " + std::strerror(errno));
  gzbuffer(gz, kChunk);
  std::unique_ptr<LineReader> r(new LineReader());
  r->gz_ = gz;
  r->path_ = path;
  r->max_line_bytes_ = max_line_bytes;
  return r;
}

bool LineReader::Fill() {
  if (eof_) return false;
  buffer_.erase(0, pos_);
  pos_ = 0;
  const size_t old = buffer_.size();
  buffer_.resize(old + kChunk);
  int n = gzread(static_cast<gzFile>(gz_), buffer_.data() + old, kChunk);
  if (n < 0) {
    int code = 0;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &code);
    error_ = std::string("corrupt compressed data after line ") + std::to_string(line_number_) + ": " + msg;
    buffer_.resize(old);
    eof_ = true;
    return false;
  }
  buffer_.resize(old + static_cast<size_t>(n));
  bytes_read_ += n;
  if (n == 0) {
    // A gzip stream that ends early reads as a short, clean end: ask zlib.
    int code = 0;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &code);
    if (code != Z_OK && code != Z_STREAM_END) {
      error_ = std::string("truncated or corrupt gzip data after line ") + std::to_string(line_number_) + ": " + msg;
    }
    eof_ = true;
    return false;
  }
  return true;
}

LineReader::Result LineReader::Next(std::string* line) {
  int64_t skipped = -1;  // >= 0 while skipping a line that is too long
  while (true) {
    const char* start = buffer_.data() + pos_;
    const void* nl = std::memchr(start, '\n', buffer_.size() - pos_);
    if (nl) {
      const size_t len = static_cast<const char*>(nl) - start;
      ++line_number_;
      if (skipped >= 0 || static_cast<int64_t>(len) > max_line_bytes_) {
        *line = std::to_string((skipped >= 0 ? skipped : 0) + static_cast<int64_t>(len));
        pos_ += len + 1;
        return Result::kTooLong;
      }
      line->assign(start, len);
      if (!line->empty() && line->back() == '\r') line->pop_back();
      pos_ += len + 1;
      return Result::kLine;
    }
    // No newline in the buffer: drop an over-long prefix as we go.
    if (static_cast<int64_t>(buffer_.size() - pos_) > max_line_bytes_) {
      skipped = (skipped >= 0 ? skipped : 0) + static_cast<int64_t>(buffer_.size() - pos_);
      pos_ = buffer_.size();
    }
    if (!Fill()) {
      if (!error_.empty()) return Result::kError;
      if (skipped >= 0 || pos_ < buffer_.size()) {  // last line without a newline
        ++line_number_;
        const size_t len = buffer_.size() - pos_;
        if (skipped >= 0 || static_cast<int64_t>(len) > max_line_bytes_) {
          *line = std::to_string((skipped >= 0 ? skipped : 0) + static_cast<int64_t>(len));
          pos_ = buffer_.size();
          return Result::kTooLong;
        }
        line->assign(buffer_.data() + pos_, len);
        if (!line->empty() && line->back() == '\r') line->pop_back();
        pos_ = buffer_.size();
        return Result::kLine;
      }
      return Result::kEnd;
    }
  }
}

}  // namespace polysweep
