#include "common/checkpoint_manifest.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json_fields.h"
#include "common/hash.h"
#include "common/shard.h"

namespace polysweep {
namespace {

// A report as a JSON object (protobuf's JSON mapping of its envelope).
nlohmann::json ReportToJson(const wire::Envelope& report) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(report, &text, options);
  return nlohmann::json::parse(text, nullptr, false);
}

StatusOr<wire::Envelope> ReportFromJson(const nlohmann::json& j, const std::string& where) {
  wire::Envelope report;
  if (!j.is_object() ||
      !google::protobuf::util::JsonStringToMessage(j.dump(), &report, google::protobuf::util::JsonParseOptions()).ok()) {
    return Status::Error(where + ": an unacknowledged report is not a report");
  }
  if (report.body_case() != wire::Envelope::kProgress && report.body_case() != wire::Envelope::kEvaluation) {
    return Status::Error(where + ": an unacknowledged report is neither progress nor an evaluation");
  }
  return report;
}

}  // namespace

std::string CheckpointManifestToJson(const CheckpointManifest& m) {
  nlohmann::json j;
  j["version"] = m.version;
  j["step"] = m.step;
  j["position"] = m.position;
  j["world_size"] = m.world_size;
  j["wall_time"] = m.wall_time;
  // JSON has no infinity: an infeasible score is written as the lowest double.
  if (m.score) j["score"] = std::max(*m.score, std::numeric_limits<double>::lowest());
  if (m.early_stop.best_score) j["best_score"] = std::max(*m.early_stop.best_score, std::numeric_limits<double>::lowest());
  if (m.early_stop.evals_since_best > 0) j["evals_since_best"] = m.early_stop.evals_since_best;
  if (m.unacknowledged) {
    j["unacknowledged"] = nlohmann::json::array();
    for (const wire::Envelope& r : *m.unacknowledged) j["unacknowledged"].push_back(ReportToJson(r));
  }
  j["files"] = nlohmann::json::array();
  for (const auto& f : m.files) j["files"].push_back({{"name", f.name}, {"bytes", f.bytes}, {"checksum", f.checksum}});
  return j.dump(2) + "\n";
}

StatusOr<CheckpointManifest> ParseCheckpointManifest(const std::string& text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Error(where + ": not a JSON checkpoint manifest");
  CheckpointManifest m;
  try {
    m.version = JsonInt<int>(j, "version");
    if (m.version != 1) return Status::Error(where + ": checkpoint manifest version " + std::to_string(m.version) + " is not supported");
    m.step = JsonInt<int64_t>(j, "step");
    m.position = j.at("position").get<std::string>();
    m.world_size = JsonInt<int32_t>(j, "world_size");
    m.wall_time = j.value("wall_time", 0.0);
    if (j.contains("score") && !j["score"].is_null()) m.score = j.at("score").get<double>();
    if (j.contains("best_score") && !j["best_score"].is_null()) m.early_stop.best_score = j.at("best_score").get<double>();
    if (j.contains("evals_since_best")) m.early_stop.evals_since_best = JsonInt<int32_t>(j, "evals_since_best");
    if (j.contains("unacknowledged")) {
      if (!j["unacknowledged"].is_array()) return Status::Error(where + ": unacknowledged is not a list of reports");
      m.unacknowledged.emplace();
      for (const auto& r : j.at("unacknowledged")) {
        auto report = ReportFromJson(r, where);
        if (!report.ok()) return report.status();
        m.unacknowledged->push_back(std::move(*report));
      }
    }
    for (const auto& f : j.at("files")) {
      CheckpointFile file{f.at("name").get<std::string>(), JsonInt<int64_t>(f, "bytes"), f.at("checksum").get<std::string>()};
      if (file.name.empty() || file.name.find('/') != std::string::npos || file.name == "." || file.name == "..") {
        return Status::Error(where + ": checkpoint file name \"" + file.name + "\" is not a plain file name");
      }
      if (file.bytes < 0) return Status::Error(where + ": negative file size");
      m.files.push_back(std::move(file));
    }
  } catch (const std::exception& e) {  // nlohmann's, and JsonInt's out_of_range
    return Status::Error(where + ": malformed checkpoint manifest: " + e.what());
  }
  if (m.step < 0 || m.world_size < 1) return Status::Error(where + ": step or world size out of range");
  if (m.early_stop.evals_since_best < 0) return Status::Error(where + ": evals_since_best is negative");
  return m;
}

StatusOr<CheckpointManifest> VerifyCheckpoint(const std::string& dir) {
  auto text = ReadFile(dir + "/MANIFEST.json");
  if (!text.ok()) return Status::Error(dir + ": no manifest (an unfinished checkpoint)");
  auto m = ParseCheckpointManifest(*text, dir + "/MANIFEST.json");
  if (!m.ok()) return m.status();
  for (const auto& f : m->files) {
    auto bytes = ReadFile(dir + "/" + f.name);
    if (!bytes.ok()) return Status::Error(dir + "/" + f.name + ": missing");
    if (static_cast<int64_t>(bytes->size()) != f.bytes) {
      return Status::Error(dir + "/" + f.name + ": " + std::to_string(bytes->size()) + " bytes, the manifest says " +
                           std::to_string(f.bytes));
    }
    if (ChecksumHex(Fnv1a64(*bytes)) != f.checksum) return Status::Error(dir + "/" + f.name + ": checksum mismatch");
  }
  return m;
}

std::vector<std::string> ListCheckpoints(const std::string& trial_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(trial_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) != 0 || name.find('.') != std::string::npos) continue;
    try {
      size_t used = 0;
      const int64_t step = std::stoll(name.substr(5), &used);
      if (used == name.size() - 5) found.push_back({step, e.path().string()});
    } catch (const std::exception&) {
    }
  }
  std::sort(found.rbegin(), found.rend());
  std::vector<std::string> out;
  for (auto& [step, path] : found) out.push_back(path);
  return out;
}

std::string BestCheckpoint(const std::string& trial_dir) {
  const std::vector<std::string> all = ListCheckpoints(trial_dir);  // newest first
  std::vector<std::pair<double, size_t>> order;
  for (size_t i = 0; i < all.size(); ++i) {
    double score = -std::numeric_limits<double>::infinity();
    if (auto text = ReadFile(all[i] + "/MANIFEST.json"); text.ok()) {
      if (auto m = ParseCheckpointManifest(*text, all[i]); m.ok() && m->score) score = *m->score;
    }
    order.push_back({score, i});
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [score, i] : order) {
    if (VerifyCheckpoint(all[i]).ok()) return all[i];
  }
  return "";
}

Status WriteAttemptFence(const std::string& trial_dir, int attempt) {
  std::error_code ec;
  std::filesystem::create_directories(trial_dir, ec);
  if (ec) return Status::Error(trial_dir + ": cannot create: " + ec.message());
  return WriteFileAtomic(trial_dir + "/ATTEMPT", std::to_string(attempt) + "\n");
}

Status CheckAttemptFence(const std::string& trial_dir, int attempt) {
  const std::string path = trial_dir + "/ATTEMPT";
  if (!std::filesystem::exists(path)) return Status::Ok();
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  int owner = 0;
  try {
    owner = std::stoi(*text);
  } catch (const std::exception&) {
    return Status::Error(path + ": not an attempt number");
  }
  if (owner <= attempt) return Status::Ok();
  return Status::Error(path + ": attempt " + std::to_string(owner) + " of this trial has taken its checkpoints over; attempt " +
                       std::to_string(attempt) + " (cut off from the coordinator?) writes none");
}

}  // namespace polysweep
