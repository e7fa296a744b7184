// Text tables for the CLI: columns padded to their widest cell, numbers
// right-aligned, and fixed-point formatting.
#pragma once

#include <google/protobuf/map.h>

#include <string>
#include <vector>

namespace polysweep {

std::string Fixed(double value, int digits);
// "42s", "3m07s", "2h05m"; "-" for a negative duration.
std::string Duration(double seconds);
// Hyperparameters as "k=v k=v", sorted by name.
std::string ParamsText(const google::protobuf::Map<std::string, std::string>& hparams);

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
