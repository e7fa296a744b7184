// `polysweep predict` and `evaluate` for a token classifier: reads JSON
// lines holding a text (split into words at white space) or a tokens array,
// and writes each back with its words' tags and its entities:
//
//   {"text": "Anna lives in Nová Ves", "words": [{"word": "Anna", "start": 0, "end": 4,
//    "tag": "B-PER", "probability": 0.98}, ...], "entities": [{"type": "PER", "text": "Anna",
//    "start": 0, "end": 4, "words": [0, 1]}, ...]}
//
// Offsets count characters (Unicode code points) of the text, end exclusive
// (of the words joined by spaces for a tokens array), as Python slices them.
// Lines that carry a tags array are scored: word accuracy and entity F1 on
// stderr, or with `report` the per-tag or entity report instead of the lines.
// Heavy header (LibTorch, through the predictor).
#pragma once

#include <istream>
#include <string>

#include "common/status.h"
#include "worker/predictor.h"

namespace polysweep {

struct TagLineOptions {
  std::string text_field = "text";
  std::string tokens_field = "tokens";
  std::string tags_field = "tags";
  std::string lang_field = "lang";
  int batch = 64;
  bool report = false;
  std::string report_json;  // with report: the whole report as JSON here
};

// Tags every line of `in` (named `input_name` in messages); lines on stdout.
Status TagLines(Predictor& predictor, std::istream& in, const std::string& input_name, const TagLineOptions& o);

}  // namespace polysweep
