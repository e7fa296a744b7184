#include "common/tagged.h"

#include <algorithm>
#include <map>
#include <set>

namespace polysweep {

namespace {

constexpr struct {
  TagScheme scheme;
  const char* name;
} kSchemes[] = {{TagScheme::kAuto, "auto"}, {TagScheme::kPlain, "none"}, {TagScheme::kIob1, "iob1"},
                {TagScheme::kIob2, "iob2"}, {TagScheme::kBioes, "bioes"}};

// "B-PER" -> ('B', "PER"); "O" -> ('O', ""); anything else -> ('\0', "").
std::pair<char, std::string> Split(const std::string& tag) {
  if (tag == "O") return {'O', ""};
  if (tag.size() < 3 || tag[1] != '-' || std::string("BIES").find(tag[0]) == std::string::npos) return {'\0', ""};
  return {tag[0], tag.substr(2)};
}

const char* Allowed(TagScheme scheme) {
  return scheme == TagScheme::kBioes ? "O, B-TYPE, I-TYPE, E-TYPE or S-TYPE" : "O, B-TYPE or I-TYPE";
}

bool EndsBefore(char prev, char tag, int prev_type, int type) {
  if (prev == 'E' || prev == 'S') return true;
  if ((prev == 'B' || prev == 'I') && (tag == 'B' || tag == 'S' || tag == 'O')) return true;
  return prev != 'O' && prev_type != type;
}

bool StartsAt(char prev, char tag, int prev_type, int type) {
  if (tag == 'B' || tag == 'S') return true;
  if ((prev == 'E' || prev == 'S' || prev == 'O') && (tag == 'E' || tag == 'I')) return true;
  return tag != 'O' && prev_type != type;
}

}  // namespace

StatusOr<TagScheme> ParseTagScheme(const std::string& name) {
  if (name == "bio") return TagScheme::kIob2;
  if (name == "iobes") return TagScheme::kBioes;
  for (const auto& s : kSchemes) {
    if (name == s.name) return s.scheme;
  }
  return Status::Error("unknown tag scheme \"" + name + "\" (auto, none, iob1, iob2, bioes)");
}

const char* TagSchemeName(TagScheme scheme) {
  for (const auto& s : kSchemes) {
    if (scheme == s.scheme) return s.name;
  }
  return "?";
}

bool HasSpans(TagScheme scheme) { return scheme != TagScheme::kPlain; }

Status CheckTag(const std::string& tag, TagScheme scheme) {
  if (tag.empty()) return Status::Error("empty tag");
  if (scheme == TagScheme::kAuto || scheme == TagScheme::kPlain) return Status::Ok();
  const char prefix = Split(tag).first;
  const bool ok = prefix == 'O' || prefix == 'B' || prefix == 'I' ||
                  (scheme == TagScheme::kBioes && (prefix == 'E' || prefix == 'S'));
  if (ok) return Status::Ok();
  return Status::Error("tag \"" + tag + "\" is outside data.tag_scheme " + TagSchemeName(scheme) + " (" +
                       Allowed(scheme) + ")");
}

TagScheme DetectTagScheme(const std::vector<std::string>& tags) {
  bool bioes = false;
  for (const std::string& t : tags) {
    const char prefix = Split(t).first;
    if (prefix == '\0') return TagScheme::kPlain;
    bioes = bioes || prefix == 'E' || prefix == 'S';
  }
  return bioes ? TagScheme::kBioes : TagScheme::kIob2;
}

SpanTags SpanTags::FromLabels(const std::vector<std::string>& labels) {
  SpanTags t;
  std::set<std::string> types;
  for (const std::string& l : labels) {
    auto [prefix, type] = Split(l);
    if (prefix != '\0' && prefix != 'O') types.insert(type);
  }
  t.types.assign(types.begin(), types.end());
  std::map<std::string, int> index;
  for (size_t i = 0; i < t.types.size(); ++i) index[t.types[i]] = static_cast<int>(i);
  for (const std::string& l : labels) {
    auto [prefix, type] = Split(l);
    if (prefix == '\0' || prefix == 'O') t.parts.push_back(TagParts{});
    else t.parts.push_back(TagParts{prefix, index[type]});
  }
  return t;
}

std::vector<Span> ExtractSpans(const std::vector<int>& tags, const SpanTags& table) {
  std::vector<Span> spans;
  char prev = 'O';
  int prev_type = -1, begin = 0;
  const int n = static_cast<int>(tags.size());
  for (int i = 0; i <= n; ++i) {  // one O past the end closes the last span
    TagParts cur;
    if (i < n && tags[static_cast<size_t>(i)] >= 0 &&
        static_cast<size_t>(tags[static_cast<size_t>(i)]) < table.parts.size()) {
      cur = table.parts[static_cast<size_t>(tags[static_cast<size_t>(i)])];
    }
    if (prev != 'O' && EndsBefore(prev, cur.prefix, prev_type, cur.type)) spans.push_back(Span{prev_type, begin, i});
    if (cur.prefix != 'O' && StartsAt(prev, cur.prefix, prev_type, cur.type)) begin = i;
    prev = cur.prefix;
    prev_type = cur.type;
  }
  return spans;
}

void SpanCounts::Add(const std::vector<Span>& gold_spans, const std::vector<Span>& predicted) {
  for (const Span& s : gold_spans) ++gold[static_cast<size_t>(s.type)];
  for (const Span& s : predicted) {
    ++found[static_cast<size_t>(s.type)];
    if (std::find(gold_spans.begin(), gold_spans.end(), s) != gold_spans.end()) ++correct[static_cast<size_t>(s.type)];
  }
}

}  // namespace polysweep
