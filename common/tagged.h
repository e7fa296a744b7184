// Token classification's tags: the tag schemes a dataset's tags are read in
// (IOB1, IOB2/BIO, BIOES, or plain tags such as part-of-speech), and the
// entity spans a sequence of tags holds, counted as the conlleval script
// and seqeval count them. Plain data; no LibTorch.
//
// Spans follow conlleval's convention (with seqeval's rules for BIOES's S-
// and E-): a tag is a prefix (B, I, E, S or O) and a type ("B-PER": B,
// PER). A span starts at B- or S-, at an I- or E- after O, E- or S-, or at
// any tag whose type differs from the previous tag's; it ends before O,
// B- or S-, after E- or S-, and where the type changes. So an I- with no
// opening tag opens a span (IOB1's reading; BIO's strict readers drop it),
// and "B-PER I-LOC" is two spans.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace polysweep {

// What a piece's label value in a shard is, beyond a tag's id: a piece not
// trained or scored (special tokens, the later pieces of a word), or, with
// data.label_all_pieces, a later piece trained on its word's tag (stored as
// kLaterPiece + the tag's id) but not scored.
inline constexpr int32_t kUntaggedPiece = -100;
inline constexpr int32_t kLaterPiece = 1 << 24;

enum class TagScheme {
  kAuto,   // as the tags say: entity tags (O, B-X, I-X, E-X, S-X) if every one is, else plain
  kPlain,  // any tag, no spans (part-of-speech): token accuracy only
  kIob1,   // O, I-X, B-X (B- only where a span follows one of its type)
  kIob2,   // O, B-X, I-X (BIO)
  kBioes,  // O, B-X, I-X, E-X, S-X
};

// "auto", "none", "iob1", "iob2" (or "bio"), "bioes" (or "iobes").
StatusOr<TagScheme> ParseTagScheme(const std::string& name);
const char* TagSchemeName(TagScheme scheme);
bool HasSpans(TagScheme scheme);

// Whether `tag` belongs to `scheme` (kAuto and kPlain take any tag); an
// error names the tag and what the scheme allows.
Status CheckTag(const std::string& tag, TagScheme scheme);
// The scheme a dataset's tag set is in: kPlain unless every tag is an
// entity tag; then kBioes if any is E- or S-, else kIob2.
TagScheme DetectTagScheme(const std::vector<std::string>& tags);

// A label's prefix and type, as span extraction reads it.
struct TagParts {
  char prefix = 'O';  // B, I, E, S or O
  int type = -1;      // an index into SpanTags::types; -1 for O
};

// A label map's tags, parsed once: label id -> prefix and type.
struct SpanTags {
  std::vector<TagParts> parts;     // by label id
  std::vector<std::string> types;  // entity types, sorted
  static SpanTags FromLabels(const std::vector<std::string>& labels);
};

struct Span {
  int type = 0;
  int begin = 0;  // first word
  int end = 0;    // one past the last word
  bool operator==(const Span& o) const { return type == o.type && begin == o.begin && end == o.end; }
};

// The spans of a sentence's tags (label ids; a negative id reads as O).
std::vector<Span> ExtractSpans(const std::vector<int>& tags, const SpanTags& table);

// Entity counts of one sentence, added per type: spans found (predicted),
// spans in the gold tags, and exact matches.
struct SpanCounts {
  std::vector<int64_t> found, gold, correct;  // by type
  explicit SpanCounts(size_t types = 0) : found(types), gold(types), correct(types) {}
  void Add(const std::vector<Span>& gold_spans, const std::vector<Span>& predicted);
};

}  // namespace polysweep
