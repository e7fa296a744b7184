// One labelled example of a multilingual dataset, and the parser of one JSONL
// line. The parser reports what is wrong; the caller adds "FILE:LINE".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace polysweep {

struct Example {
  std::string text;
  std::string text_pair;  // a text pair's second text; empty unless the dataset names a pair field
  std::string label;
  // Multi-label classification: the text's labels (any number, none
  // included; no repeats), read from the label field's list.
  std::vector<std::string> labels;
  std::string lang;
  std::string group;  // empty unless the dataset names a group field
  std::string split;  // the row's published split; empty unless the dataset names a split field
  // Token classification: the sentence's words and their tags (text is the
  // words joined by single spaces).
  std::vector<std::string> words, tags;
};

struct ExampleFields {
  std::string text = "text";
  std::string label = "label";
  std::string lang = "lang";
  std::string group;  // optional
  std::string text_pair;  // optional: each example is a pair, this its second text
  std::string split;      // optional: each row names its split here (train, valid, test)
  // Token classification from JSONL: the arrays of words and of their tags
  // (text and label are then not read).
  std::string tokens;
  std::string tags;
  // Regression: the label may be any JSON number (kept as its text).
  bool numeric_label = false;
  // Multi-label: the label field is a list of labels (JSON), or a TSV cell
  // of labels split at this separator; empty: one label per text.
  std::string label_separator;
};

// A regression label: a finite number written as JSON or TSV writes it.
StatusOr<float> ParseRealLabel(const std::string& label);

// The text of a tagged sentence: its words joined by single spaces.
std::string JoinWords(const std::vector<std::string>& words);
// A word of a tagged sentence: non-empty, no white space (words are joined
// by spaces). The error names it by its 1-based index.
Status CheckWord(const std::string& word, size_t index);

// Returns the byte offset of the first invalid UTF-8 sequence, or npos.
size_t FindInvalidUtf8(std::string_view bytes);

// Parses `{"text": ..., "label": ..., "lang": ...}`. Text must be a non-empty
// string; label a string or an integer; lang a short language code.
StatusOr<Example> ParseExampleLine(std::string_view line, const ExampleFields& fields);

// TSV input: a header line names the columns; each line has exactly as many
// tab-separated columns. Text may not contain tabs or newlines.
struct TsvColumns {
  int text = -1;
  int label = -1;
  int lang = -1;
  int group = -1;
  int text_pair = -1;
  int split = -1;
  size_t count = 0;
  std::string label_separator;  // multi-label: the label cell's separator (empty: one label)
};
StatusOr<TsvColumns> ParseTsvHeader(std::string_view header, const ExampleFields& fields);
StatusOr<Example> ParseTsvLine(std::string_view line, const TsvColumns& columns);

}  // namespace polysweep
