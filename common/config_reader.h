// How the sweep config is read: a Reader that walks the YAML tree and
// reports errors as "FILE:LINE: key.path: what", and sections described as
// tables of fields (each a key, a member and its bounds or words), the way
// common/hparams.cc describes hyperparameters. A section's rules that tie
// several fields together run after its table. Internal to common/config*.cc.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace polysweep::config {

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Status Error(const YAML::Node& node, const std::string& path, const std::string& what) const;
  // The line of `node` (1-based), or 0 when it has none.
  static int Line(const YAML::Node& node);
  // Requires a mapping whose keys are all in `allowed` (any, when empty) and none repeated.
  Status CheckMap(const YAML::Node& node, const std::string& path, const std::set<std::string>& allowed) const;
  Status String(const YAML::Node& node, const std::string& path, std::string* out) const;
  Status Number(const YAML::Node& node, const std::string& path, double* out, double min, double max) const;
  template <typename Int>
  Status Integer(const YAML::Node& node, const std::string& path, Int* out, double min, double max) const {
    double v;
    PS_RETURN_IF_ERROR(Number(node, path, &v, min, max));
    if (std::nearbyint(v) != v) return Error(node, path, "expected an integer, got " + node.Scalar());
    *out = static_cast<Int>(v);
    return Status::Ok();
  }
  Status Bool(const YAML::Node& node, const std::string& path, bool* out) const;
  Status StringList(const YAML::Node& node, const std::string& path, std::vector<std::string>* out) const;
  // One of `words`, else an error listing them as "expected a, b or c".
  Status Word(const YAML::Node& node, const std::string& path, const std::vector<std::string>& words,
              std::string* out) const;

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// One key of a section: how its value is read into the section's struct S.
template <typename S>
struct Field {
  const char* key;
  std::function<Status(const Reader&, const YAML::Node&, const std::string& path, S*)> read;
};

template <typename S>
Field<S> Number(const char* key, double S::*member, double min, double max) {
  return {key, [=](const Reader& r, const YAML::Node& n, const std::string& p, S* s) {
            return r.Number(n, p, &(s->*member), min, max);
          }};
}

template <typename S, typename Int>
Field<S> Integer(const char* key, Int S::*member, double min, double max) {
  return {key, [=](const Reader& r, const YAML::Node& n, const std::string& p, S* s) {
            return r.Integer(n, p, &(s->*member), min, max);
          }};
}

template <typename S>
Field<S> Text(const char* key, std::string S::*member) {
  return {key, [=](const Reader& r, const YAML::Node& n, const std::string& p, S* s) {
            return r.String(n, p, &(s->*member));
          }};
}

template <typename S>
Field<S> Texts(const char* key, std::vector<std::string> S::*member) {
  return {key, [=](const Reader& r, const YAML::Node& n, const std::string& p, S* s) {
            return r.StringList(n, p, &(s->*member));
          }};
}

template <typename S>
Field<S> Flag(const char* key, bool S::*member) {
  return {key, [=](const Reader& r, const YAML::Node& n, const std::string& p, S* s) {
            return r.Bool(n, p, &(s->*member));
          }};
}

template <typename S>
Field<S> OneOf(const char* key, std::string S::*member, std::vector<std::string> words) {
  return {key, [=](const Reader& r, const YAML::Node& n, const std::string& p, S* s) {
            return r.Word(n, p, words, &(s->*member));
          }};
}

// A key whose value is one of `names` (a module's registered kinds), stored
// as its enum.
template <typename S, typename E>
Field<S> Named(const char* key, E S::*member, std::vector<KindName<E>> names) {
  return {key, [=](const Reader& r, const YAML::Node& n, const std::string& p, S* s) {
            std::vector<std::string> words;
            for (const KindName<E>& name : names) words.push_back(name.name);
            std::string word;
            PS_RETURN_IF_ERROR(r.Word(n, p, words, &word));
            for (const KindName<E>& name : names) {
              if (name.name == word) s->*member = name.kind;
            }
            return Status::Ok();
          }};
}

// Reads the section `n` at `path` by its table: only the table's keys are
// allowed, and each one present is read in the table's order.
template <typename S>
Status ReadSection(const Reader& r, const YAML::Node& n, const std::string& path, const std::vector<Field<S>>& table,
                   S* out) {
  std::set<std::string> allowed;
  for (const auto& f : table) allowed.insert(f.key);
  PS_RETURN_IF_ERROR(r.CheckMap(n, path, allowed));
  for (const auto& f : table) {
    if (n[f.key]) PS_RETURN_IF_ERROR(f.read(r, n[f.key], path + "." + f.key, out));
  }
  return Status::Ok();
}

}  // namespace polysweep::config

namespace polysweep::config {

// The search section (config_search.cc); `algorithms` are the registered searchers.
Status ParseSearch(const Reader& r, const YAML::Node& n, const std::vector<KindName<SearchAlgorithm>>& algorithms,
                   SearchConfig* s);
// Hyperparameters whose valid values depend on the model section.
Status CheckAgainstModel(const Reader& r, const YAML::Node& root, const SweepConfig& c);

}  // namespace polysweep::config
