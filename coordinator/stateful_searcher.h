// The part of a searcher's state every searcher has (internal to the
// searchers): which search config it belongs to (a fingerprint), how many
// trials are left, and its RNG, saved as one JSON object; `extra` holds what
// is particular to one searcher.
#pragma once

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

#include "common/json_fields.h"
#include "coordinator/searcher.h"

namespace polysweep {

inline std::string RngText(const std::mt19937_64& rng) {
  std::ostringstream out;
  out << rng;
  return out.str();
}

class StatefulSearcher : public Searcher {
 public:
  StatefulSearcher(std::string fingerprint, uint64_t seed, int max_trials)
      : fingerprint_(std::move(fingerprint)), rng_(seed), left_(max_trials) {}

  std::string SaveState() const override {
    nlohmann::json j = {{"searcher", name()}, {"fingerprint", fingerprint_}, {"left", left_},
                        {"rng", RngText(rng_)}, {"extra", SaveExtra()}};
    return j.dump();
  }
  Status LoadState(const std::string& text) override {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("fingerprint") || !j.contains("rng")) {
      return Status::Error("the journaled search state is unreadable");
    }
    if (j["fingerprint"] != fingerprint_) {
      return Status::Error("the search changed (search or budget.max_trials differ from the journaled sweep's)");
    }
    try {
      std::istringstream rng(j.at("rng").get<std::string>());
      rng >> rng_;
      if (!rng) return Status::Error("the journaled search state has a bad RNG state");
      left_ = JsonInt<int>(j, "left");
      return LoadExtra(j.at("extra"));
    } catch (const std::exception& e) {
      return Status::Error(std::string("the journaled search state is malformed: ") + e.what());
    }
  }

 protected:
  virtual nlohmann::json SaveExtra() const { return nullptr; }
  virtual Status LoadExtra(const nlohmann::json&) { return Status::Ok(); }
  // Counts one trial against the budget; false when it is spent.
  bool Take() {
    if (left_ <= 0) return false;
    --left_;
    return true;
  }

  std::string fingerprint_;
  std::mt19937_64 rng_;
  int left_;
};

}  // namespace polysweep
