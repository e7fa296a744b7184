// Search-space types shared by the coordinator (which samples them) and the
// worker (which applies sampled values). Plain data, no behaviour beyond
// formatting.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace polysweep {

// One hyperparameter value: a number or a string.
struct ParamValue {
  double number = 0;
  std::string text;
  bool is_text = false;

  static ParamValue Number(double v) { return ParamValue{v, "", false}; }
  static ParamValue Text(std::string s) { return ParamValue{0, std::move(s), true}; }
  // Shortest decimal form that parses back to the same double ("0.001", "32").
  std::string ToString() const;
  // Inverse of ToString(): numbers when the whole string parses as one.
  static ParamValue Parse(const std::string& s);
  bool operator==(const ParamValue& o) const {
    return is_text == o.is_text && (is_text ? text == o.text : number == o.number);
  }
};

enum class ParamKind { kChoice, kUniform, kLogUniform, kInt, kQLogUniform };
const char* ParamKindName(ParamKind kind);

struct ParamSpec {
  std::string name;
  ParamKind kind = ParamKind::kChoice;
  double low = 0;
  double high = 0;
  std::vector<ParamValue> choices;  // kChoice only
  int grid_points = 0;              // uniform/loguniform under grid search
  double q = 0;                     // kQLogUniform: values are multiples of q
  // Conditional: searched only when the parameter `when_param` took one of
  // `when_values` in the same trial; otherwise absent (its fixed value holds).
  std::string when_param;
  std::vector<ParamValue> when_values;
};

// A trial's hyperparameters, name -> value.
using ParamAssignment = std::map<std::string, ParamValue>;

// Parameters in a fixed (name) order, so sampling is reproducible.
struct SearchSpace {
  std::vector<ParamSpec> params;
  // Indices of `params` with every condition's parent before its children.
  std::vector<size_t> SamplingOrder() const;
};

// Whether `spec` is searched in a trial whose parents took `chosen`.
bool IsActive(const ParamSpec& spec, const ParamAssignment& chosen);

std::string FormatAssignment(const ParamAssignment& a);  // "lr=0.001 batch_size=32"

}  // namespace polysweep
