#include "common/example.h"

#include <nlohmann/json.hpp>

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

bool IsLanguageCode(const std::string& s) {
  if (s.empty() || s.size() > 16) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '@')) return false;
  }
  return true;
}

StatusOr<std::string> StringField(const nlohmann::json& obj, const std::string& name, bool allow_int) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return Status::Error("missing field \"" + name + "\"");
  if (it->is_string()) return it->get<std::string>();
  if (allow_int && it->is_number_integer()) return std::to_string(it->get<long long>());
  return Status::Error("field \"" + name + "\" must be a string");
}

}  // namespace

StatusOr<Example> ParseExampleLine(std::string_view line, const ExampleFields& fields) {
  size_t bad = FindInvalidUtf8(line);
  if (bad != std::string_view::npos) {
    return Status::Error("invalid UTF-8 at byte " + std::to_string(bad + 1));
  }
  nlohmann::json obj = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) return Status::Error("not valid JSON");
  if (!obj.is_object()) return Status::Error("expected a JSON object");
  Example ex;
  auto text = StringField(obj, fields.text, false);
  if (!text.ok()) return text.status();
  ex.text = std::move(*text);
  if (ex.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::Error("field \"" + fields.text + "\" is empty");
  }
  auto label = StringField(obj, fields.label, true);
  if (!label.ok()) return label.status();
  ex.label = std::move(*label);
  if (ex.label.empty()) return Status::Error("field \"" + fields.label + "\" is empty");
  auto lang = StringField(obj, fields.lang, false);
  if (!lang.ok()) return lang.status();
  ex.lang = std::move(*lang);
  if (!IsLanguageCode(ex.lang)) return Status::Error("field \"" + fields.lang + "\" is not a language code: \"" + ex.lang + "\"");
  if (!fields.group.empty()) {
    auto group = StringField(obj, fields.group, true);
    if (!group.ok()) return group.status();
    ex.group = std::move(*group);
  }
  return ex;
}

}  // namespace polysweep
