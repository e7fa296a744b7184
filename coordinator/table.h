// Text tables for the CLI: columns padded to their widest cell, numbers
// right-aligned, and fixed-point formatting.
#pragma once

#include <string>
#include <vector>

namespace polysweep {

std::string Fixed(double value, int digits);

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Cells that start with a digit or are "-" are right-aligned (not in the header).
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace polysweep
