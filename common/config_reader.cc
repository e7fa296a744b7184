#include "common/config_reader.h"

#include "common/hparams.h"

namespace polysweep::config {

Status Reader::Error(const YAML::Node& node, const std::string& path, const std::string& what) const {
  std::string where = file_;
  if (const int line = Line(node); line > 0) where += ":" + std::to_string(line);
  return Status::InvalidConfig(where + ": " + path + ": " + what);
}

int Reader::Line(const YAML::Node& node) {
  return node.IsDefined() && node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
}

Status Reader::CheckMap(const YAML::Node& node, const std::string& path, const std::set<std::string>& allowed) const {
  if (!node.IsMap()) return Error(node, path, "expected a mapping of keys");
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string key_path = path.empty() ? key : path + "." + key;
    if (!seen.insert(key).second) return Error(kv.first, key_path, "duplicate key");
    if (!allowed.empty() && !allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Error(kv.first, key_path, "unknown key (allowed here: " + list + ")");
    }
  }
  return Status::Ok();
}

Status Reader::String(const YAML::Node& node, const std::string& path, std::string* out) const {
  if (!node.IsScalar()) return Error(node, path, "expected a string");
  *out = node.Scalar();
  return Status::Ok();
}

Status Reader::Number(const YAML::Node& node, const std::string& path, double* out, double min, double max) const {
  if (!node.IsScalar()) return Error(node, path, "expected a number");
  double v;
  try {
    v = node.as<double>();
  } catch (const YAML::Exception&) {
    return Error(node, path, "expected a number, got \"" + node.Scalar() + "\"");
  }
  if (!std::isfinite(v)) return Error(node, path, "expected a finite number");
  if (v < min || v > max) {
    return Error(node, path, "value " + node.Scalar() + " is out of range [" + ParamValue::Number(min).ToString() +
                                 ", " + ParamValue::Number(max).ToString() + "]");
  }
  *out = v;
  return Status::Ok();
}

Status Reader::Bool(const YAML::Node& node, const std::string& path, bool* out) const {
  if (!node.IsScalar() || (node.Scalar() != "true" && node.Scalar() != "false")) {
    return Error(node, path, "expected true or false" + (node.IsScalar() ? ", got \"" + node.Scalar() + "\"" : ""));
  }
  *out = node.Scalar() == "true";
  return Status::Ok();
}

Status Reader::StringList(const YAML::Node& node, const std::string& path, std::vector<std::string>* out) const {
  if (!node.IsSequence()) return Error(node, path, "expected a list of strings");
  out->clear();
  for (size_t i = 0; i < node.size(); ++i) {
    std::string s;
    PS_RETURN_IF_ERROR(String(node[i], path + "[" + std::to_string(i) + "]", &s));
    out->push_back(s);
  }
  return Status::Ok();
}

Status Reader::Word(const YAML::Node& node, const std::string& path, const std::vector<std::string>& words,
                    std::string* out) const {
  std::string word;
  PS_RETURN_IF_ERROR(String(node, path, &word));
  for (const auto& w : words) {
    if (w == word) {
      *out = word;
      return Status::Ok();
    }
  }
  std::string list;
  for (size_t i = 0; i < words.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
  }
  return Error(node, path, "expected " + list + ", got \"" + word + "\"");
}

}  // namespace polysweep::config
