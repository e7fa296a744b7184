// Fuzzes the dataset line parsers (JSONL and TSV, single- and multi-label)
// and the UTF-8 validator.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/example.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const size_t bad = polysweep::FindInvalidUtf8(line);
  if (bad != std::string_view::npos && bad >= size) std::abort();
  polysweep::ExampleFields fields;
  fields.group = "group";
  auto ex = polysweep::ParseExampleLine(line, fields);
  if (ex.ok() && (ex->text.empty() || ex->label.empty() || ex->lang.empty())) std::abort();
  // The first line as a TSV header, the rest as a row.
  const size_t nl = line.find('\n');
  auto header = polysweep::ParseTsvHeader(line.substr(0, nl), fields);
  if (header.ok() && nl != std::string_view::npos) (void)polysweep::ParseTsvLine(line.substr(nl + 1), *header);
  // The same as multi-label lines: a list of labels (or a TSV cell split at
  // a separator), each non-empty and none repeated.
  polysweep::ExampleFields sets = fields;
  sets.label = "labels";
  sets.label_separator = ",";
  auto multi = polysweep::ParseExampleLine(line, sets);
  if (multi.ok()) {
    for (size_t i = 0; i < multi->labels.size(); ++i) {
      if (multi->labels[i].empty()) std::abort();
      for (size_t k = 0; k < i; ++k) {
        if (multi->labels[k] == multi->labels[i]) std::abort();
      }
    }
  }
  auto set_header = polysweep::ParseTsvHeader(line.substr(0, nl), sets);
  if (set_header.ok() && nl != std::string_view::npos) (void)polysweep::ParseTsvLine(line.substr(nl + 1), *set_header);
  return 0;
}
