#include "common/example.h"

#include <cerrno>
#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

namespace polysweep {

size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return i;
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

namespace {

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return out;
}

bool IsLanguageCode(const std::string& s) {
  if (s.empty() || s.size() > 16) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '@')) return false;
  }
  return true;
}

StatusOr<std::string> StringField(const nlohmann::json& obj, const std::string& name, bool allow_int,
                                  bool allow_number = false) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return Status::Error("missing field \"" + name + "\"");
  if (it->is_string()) return it->get<std::string>();
  if (allow_int && it->is_number_integer()) return it->dump();  // the exact digits, any size
  if (allow_number && it->is_number()) return it->dump();
  return Status::Error("field \"" + name + "\" must be a string");
}

Status CheckExample(const Example& ex, const std::string& text_name, const std::string& label_name,
                    const std::string& lang_name) {
  if (ex.text.find_first_not_of(" \t\r\n") == std::string::npos) return Status::Error("field \"" + text_name + "\" is empty");
  if (!label_name.empty() && ex.label.empty()) return Status::Error("field \"" + label_name + "\" is empty");
  if (!IsLanguageCode(ex.lang)) return Status::Error("field \"" + lang_name + "\" is not a language code: \"" + ex.lang + "\"");
  return Status::Ok();
}

// A pair's second text, like the first, must hold more than white space.
Status CheckPairText(const Example& ex, const std::string& what) {
  if (ex.text_pair.find_first_not_of(" \t\r\n") == std::string::npos) return Status::Error(what + " is empty");
  return Status::Ok();
}

// A JSON array of non-empty strings, as `name` in messages.
StatusOr<std::vector<std::string>> StringArray(const nlohmann::json& obj, const std::string& name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return Status::Error("missing field \"" + name + "\"");
  if (!it->is_array()) return Status::Error("field \"" + name + "\" must be an array of strings");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) {
      return Status::Error("field \"" + name + "\" item " + std::to_string(out.size() + 1) + " is not a string");
    }
    out.push_back(v.get<std::string>());
  }
  if (out.empty()) return Status::Error("field \"" + name + "\" is empty");
  return out;
}

// A tagged sentence's words and tags: arrays of one length, words without white space.
Status ParseTagged(const nlohmann::json& obj, const ExampleFields& fields, Example* ex) {
  auto words = StringArray(obj, fields.tokens);
  if (!words.ok()) return words.status();
  auto tags = StringArray(obj, fields.tags);
  if (!tags.ok()) return tags.status();
  if (words->size() != tags->size()) {
    return Status::Error("field \"" + fields.tokens + "\" has " + std::to_string(words->size()) + " words but \"" +
                         fields.tags + "\" " + std::to_string(tags->size()) + " tags");
  }
  for (size_t i = 0; i < words->size(); ++i) PS_RETURN_IF_ERROR(CheckWord((*words)[i], i + 1));
  ex->words = std::move(*words);
  ex->tags = std::move(*tags);
  ex->text = JoinWords(ex->words);
  return Status::Ok();
}

// A multi-label example's labels: each one non-empty, repeats dropped, in
// their first order.
Status SetLabels(std::vector<std::string> labels, const std::string& name, Example* ex) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].find_first_not_of(" \t") == std::string::npos) {
      return Status::Error("field \"" + name + "\" label " + std::to_string(i + 1) + " is empty");
    }
    if (std::find(ex->labels.begin(), ex->labels.end(), labels[i]) == ex->labels.end()) {
      ex->labels.push_back(std::move(labels[i]));
    }
  }
  return Status::Ok();
}

// A multi-label JSON field: a list of strings (or integers), empty included.
Status ParseLabelList(const nlohmann::json& obj, const std::string& name, Example* ex) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return Status::Error("missing field \"" + name + "\"");
  if (!it->is_array()) {
    return Status::Error("field \"" + name +
                         "\" must be a list of labels (model.task multi_label_classification), got " +
                         std::string(it->type_name()));
  }
  std::vector<std::string> labels;
  for (const auto& v : *it) {
    if (v.is_string()) labels.push_back(v.get<std::string>());
    else if (v.is_number_integer()) labels.push_back(v.dump());
    else return Status::Error("field \"" + name + "\" label " + std::to_string(labels.size() + 1) + " is not a string");
  }
  return SetLabels(std::move(labels), name, ex);
}

// A TSV cell of labels split at `separator` (an empty cell: no labels).
Status SplitLabelCell(std::string_view cell, const std::string& separator, Example* ex) {
  std::vector<std::string> labels;
  if (cell.find_first_not_of(" ") == std::string_view::npos) return Status::Ok();
  size_t start = 0;
  while (true) {
    const size_t at = cell.find(separator, start);
    std::string_view one = cell.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    labels.emplace_back(one);
    if (at == std::string_view::npos) break;
    start = at + separator.size();
  }
  return SetLabels(std::move(labels), "label", ex);
}

}  // namespace

StatusOr<float> ParseRealLabel(const std::string& label) {
  const char* begin = label.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  while (end && (*end == ' ' || *end == '\t')) ++end;
  if (label.empty() || end == begin || *end != '\0' || errno == ERANGE || !std::isfinite(v) ||
      std::fabs(v) > 3.0e38) {
    return Status::Error("label \"" + label + "\" is not a number (model.task regression)");
  }
  return static_cast<float>(v);
}

std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

Status CheckWord(const std::string& word, size_t index) {
  if (word.empty()) return Status::Error("word " + std::to_string(index) + " is empty");
  if (word.find_first_of(" \t\r\n") != std::string::npos) {
    return Status::Error("word " + std::to_string(index) + " (\"" + word + "\") contains white space");
  }
  return Status::Ok();
}

StatusOr<TsvColumns> ParseTsvHeader(std::string_view header, const ExampleFields& fields) {
  if (FindInvalidUtf8(header) != std::string_view::npos) return Status::Error("header is not valid UTF-8");
  auto names = SplitTabs(header);
  TsvColumns c;
  c.count = names.size();
  c.label_separator = fields.label_separator;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == fields.text) c.text = static_cast<int>(i);
    if (!fields.label.empty() && names[i] == fields.label) c.label = static_cast<int>(i);
    if (names[i] == fields.lang) c.lang = static_cast<int>(i);
    if (!fields.group.empty() && names[i] == fields.group) c.group = static_cast<int>(i);
    if (!fields.text_pair.empty() && names[i] == fields.text_pair) c.text_pair = static_cast<int>(i);
    if (!fields.split.empty() && names[i] == fields.split) c.split = static_cast<int>(i);
  }
  for (auto [index, name] : {std::pair{c.text, fields.text}, std::pair{c.label, fields.label},
                             std::pair{c.lang, fields.lang}, std::pair{c.group, fields.group},
                             std::pair{c.text_pair, fields.text_pair}, std::pair{c.split, fields.split}}) {
    if (index < 0 && !name.empty()) return Status::Error("header has no column \"" + name + "\"");
  }
  return c;
}

StatusOr<Example> ParseTsvLine(std::string_view line, const TsvColumns& columns) {
  size_t bad = FindInvalidUtf8(line);
  if (bad != std::string_view::npos) return Status::Error("invalid UTF-8 at byte " + std::to_string(bad + 1));
  auto cells = SplitTabs(line);
  if (cells.size() != columns.count) {
    return Status::Error("expected " + std::to_string(columns.count) + " tab-separated columns, got " +
                         std::to_string(cells.size()));
  }
  Example ex;
  ex.text = std::string(cells[static_cast<size_t>(columns.text)]);
  if (columns.label >= 0 && !columns.label_separator.empty()) {
    PS_RETURN_IF_ERROR(SplitLabelCell(cells[static_cast<size_t>(columns.label)], columns.label_separator, &ex));
  } else if (columns.label >= 0) {
    ex.label = std::string(cells[static_cast<size_t>(columns.label)]);
  }
  ex.lang = std::string(cells[static_cast<size_t>(columns.lang)]);
  if (columns.group >= 0) ex.group = std::string(cells[static_cast<size_t>(columns.group)]);
  if (columns.text_pair >= 0) ex.text_pair = std::string(cells[static_cast<size_t>(columns.text_pair)]);
  if (columns.split >= 0) ex.split = std::string(cells[static_cast<size_t>(columns.split)]);
  PS_RETURN_IF_ERROR(
      CheckExample(ex, "text", columns.label >= 0 && columns.label_separator.empty() ? "label" : "", "lang"));
  if (columns.text_pair >= 0) PS_RETURN_IF_ERROR(CheckPairText(ex, "the pair column"));
  return ex;
}

StatusOr<Example> ParseExampleLine(std::string_view line, const ExampleFields& fields) {
  size_t bad = FindInvalidUtf8(line);
  if (bad != std::string_view::npos) {
    return Status::Error("invalid UTF-8 at byte " + std::to_string(bad + 1));
  }
  nlohmann::json obj = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) return Status::Error("not valid JSON");
  if (!obj.is_object()) return Status::Error("expected a JSON object");
  Example ex;
  if (!fields.tokens.empty()) {
    PS_RETURN_IF_ERROR(ParseTagged(obj, fields, &ex));
  } else {
    auto text = StringField(obj, fields.text, false);
    if (!text.ok()) return text.status();
    ex.text = std::move(*text);
  }
  const bool one_label = fields.label_separator.empty();
  if (!fields.label.empty() && !one_label) {
    PS_RETURN_IF_ERROR(ParseLabelList(obj, fields.label, &ex));
  } else if (!fields.label.empty() && fields.tokens.empty()) {
    auto label = StringField(obj, fields.label, true, fields.numeric_label);
    if (!label.ok()) return label.status();
    ex.label = std::move(*label);
  }
  auto lang = StringField(obj, fields.lang, false);
  if (!lang.ok()) return lang.status();
  ex.lang = std::move(*lang);
  PS_RETURN_IF_ERROR(
      CheckExample(ex, fields.text, fields.tokens.empty() && one_label ? fields.label : "", fields.lang));
  if (!fields.text_pair.empty()) {
    auto pair = StringField(obj, fields.text_pair, false);
    if (!pair.ok()) return pair.status();
    ex.text_pair = std::move(*pair);
    PS_RETURN_IF_ERROR(CheckPairText(ex, "field \"" + fields.text_pair + "\""));
  }
  if (!fields.group.empty()) {
    auto group = StringField(obj, fields.group, true);
    if (!group.ok()) return group.status();
    ex.group = std::move(*group);
  }
  if (!fields.split.empty()) {
    auto split = StringField(obj, fields.split, false);
    if (!split.ok()) return split.status();
    ex.split = std::move(*split);
  }
  return ex;
}

}  // namespace polysweep
