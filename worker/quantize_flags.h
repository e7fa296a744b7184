// The --quantize flags `polysweep predict`/`evaluate` and `polysweep serve`
// share (CLI11: included by those programs' main files only).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "worker/int8.h"

namespace polysweep {

struct QuantizeFlags {
  std::string quantize = "none";  // none | int8
  int64_t int8_min_inputs = kInt8MinInputs;

  QuantizeOptions options() const { return QuantizeOptions{quantize == "int8", int8_min_inputs}; }
  // What a load quantized, for the log: "--quantize int8: 24 of 48 ...".
  std::string Summary(int quantized, int linear_layers) const {
    return "--quantize int8: " + std::to_string(quantized) + " of " + std::to_string(linear_layers) +
           " linear layers in int8 (narrower than " + std::to_string(int8_min_inputs) +
           " inputs stay fp32: int8 is slower there)";
  }
};

inline void AddQuantizeFlags(CLI::App& app, QuantizeFlags* f) {
  app.add_option("--quantize", f->quantize,
                 "int8: the encoder's linear layers in int8 (dynamic quantization); `polysweep evaluate MODEL FILE "
                 "--quantize int8` shows what it costs in accuracy")
      ->check(CLI::IsMember({"none", "int8"}));
  app.add_option("--int8-min-inputs", f->int8_min_inputs,
                 "with --quantize int8: layers with fewer inputs stay fp32 (default 512, where int8 starts to pay "
                 "on one core; 1: every layer)")
      ->check(CLI::Range(1, 1 << 20));
}

}  // namespace polysweep
