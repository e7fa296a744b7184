// Logging that says who is speaking: "[coordinator sweep quickstart]" or
// "[trial 7 attempt 1 rank 0/2 host h]". A Logger is a value; there is no
// global logger. Thread-safe: each line is written with one write(2).
#pragma once

#include <string>

namespace polysweep {

class Logger {
 public:
  explicit Logger(std::string identity) : identity_(std::move(identity)) {}
  void Info(const std::string& message) const { Write("info", message); }
  void Warn(const std::string& message) const { Write("warn", message); }
  void Error(const std::string& message) const { Write("error", message); }
  const std::string& identity() const { return identity_; }

 private:
  void Write(const char* level, const std::string& message) const;
  std::string identity_;
};

}  // namespace polysweep
