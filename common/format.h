// Numbers, durations and text tables as polysweep prints them, in logs
// and the CLI alike.
#pragma once

#include <string>
#include <vector>

namespace polysweep {

std::string Fixed(double value, int digits);
// "42s", "3m07s", "2h05m"; "-" for a negative duration.
std::string Duration(double seconds);

// A text table: columns padded to their widest cell, cells that start with a
// digit or are "-" right-aligned (not in the header).
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace polysweep
