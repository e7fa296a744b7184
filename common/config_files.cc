// What of the sweep config needs the disk: the data files and a tokenizer
// exist, and a model directory named by model.init has the configured
// architecture (its tokenizer then encodes the data). Kept out of the
// parser, so a journaled config parses wherever its files are.
#include <filesystem>
#include <tuple>

#include "common/config.h"
#include "common/model_package.h"

namespace polysweep {
namespace {

// "FILE:LINE: key: what", the line being where the parser read `key`.
Status Error(const SweepConfig& c, const std::string& key, const std::string& what) {
  auto it = c.lines.find(key);
  const std::string line = it != c.lines.end() && it->second > 0 ? ":" + std::to_string(it->second) : "";
  return Status::InvalidConfig(c.source_path + line + ": " + key + ": " + what);
}

// model.init naming a model directory: its architecture must be the
// configured one, and its tokenizer encodes the data unless data.tokenizer
// names another.
Status CheckInitModel(SweepConfig* c) {
  std::error_code ec;
  if (c->model.init.empty()) return Status::Ok();
  if (!std::filesystem::exists(c->model.init, ec)) {
    return Error(*c, "model.init", "no such file or directory: " + c->model.init);
  }
  if (!std::filesystem::is_directory(c->model.init, ec)) return Status::Ok();  // a TorchScript file
  auto package = LoadModelPackage(c->model.init);
  if (!package.ok()) return Error(*c, "model.init", package.status().message());
  for (auto [key, theirs, ours] : {std::tuple{"layers", package->layers, c->model.layers},
                                   std::tuple{"hidden", package->hidden, c->model.hidden},
                                   std::tuple{"heads", package->heads, c->model.heads},
                                   std::tuple{"ffn", package->ffn, c->model.ffn}}) {
    if (theirs != ours) {
      return Error(*c, "model.init", c->model.init + " has " + key + " " + std::to_string(theirs) + ", model." + key +
                                         " is " + std::to_string(ours) + ": set the same architecture");
    }
  }
  if (package->max_length < c->model.max_length) {
    return Error(*c, "model.init", c->model.init + " has max_length " + std::to_string(package->max_length) +
                                       ", less than model.max_length " + std::to_string(c->model.max_length));
  }
  if (c->data.tokenizer.empty()) c->data.tokenizer = c->model.init + "/" + package->tokenizer_file;
  return Status::Ok();
}

}  // namespace

Status CheckConfigFiles(SweepConfig* c) {
  std::error_code ec;
  for (size_t i = 0; i < c->data.files.size(); ++i) {
    if (!std::filesystem::is_regular_file(c->data.files[i], ec)) {
      return Error(*c, "data.files[" + std::to_string(i) + "]", "no such file: " + c->data.files[i]);
    }
  }
  if (!c->data.tokenizer.empty() && !std::filesystem::is_regular_file(c->data.tokenizer, ec)) {
    return Error(*c, "data.tokenizer", "no such file: " + c->data.tokenizer);
  }
  return CheckInitModel(c);
}

}  // namespace polysweep
