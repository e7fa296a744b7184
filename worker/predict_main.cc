// polysweep-predict: classifies JSON lines with an exported model (what
// `polysweep predict MODEL [INPUT]` runs). Reads {"text": ...} objects from
// INPUT or stdin (with the second text of a pair, for a model trained on
// pairs, in the field its data had),
// writes each object back with "predicted" (the label) and "probability"
// added. Lines that carry a label are scored: accuracy overall and per
// language, on stderr at the end.
#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "worker/allocator.h"
#include "worker/hf_export.h"
#include "worker/predictor.h"
#include "worker/threads.h"

using namespace polysweep;

namespace {

struct Tally {
  int64_t seen = 0, right = 0;
};

// The accuracy over the labelled lines, overall and per language, on stderr.
void PrintAccuracy(const Tally& total, const std::map<std::string, Tally>& by_lang) {
  if (total.seen == 0) return;
  char buf[200];
  std::snprintf(buf, sizeof buf, "accuracy %.4f on %lld labelled lines", static_cast<double>(total.right) / static_cast<double>(total.seen),
                static_cast<long long>(total.seen));
  std::cerr << buf << "\n";
  for (const auto& [lang, t] : by_lang) {
    std::snprintf(buf, sizeof buf, "  %-8s %.4f  (%lld)", lang.c_str(), static_cast<double>(t.right) / static_cast<double>(t.seen),
                  static_cast<long long>(t.seen));
    std::cerr << buf << "\n";
  }
}

// A labelled row's prediction counted, overall and in its language.
void Score(const nlohmann::json& row, const Prediction& p, const ModelPackage& package, const std::string& label_field,
           const std::string& lang_field, Tally* total, std::map<std::string, Tally>* by_lang) {
  if (!row.contains(label_field) || !row[label_field].is_string()) return;
  const bool right = row[label_field].get<std::string>() == package.labels[static_cast<size_t>(p.label)];
  total->seen++;
  total->right += right;
  if (row.contains(lang_field) && row[lang_field].is_string()) {
    Tally& t = (*by_lang)[row[lang_field].get<std::string>()];
    t.seen++;
    t.right += right;
  }
}

// The prediction written into its row: the label and its probability, and
// on request every label's probability and the token ids.
void Annotate(nlohmann::json& row, const Prediction& p, const ModelPackage& package, bool all_probs, bool with_ids) {
  row["predicted"] = package.labels[static_cast<size_t>(p.label)];
  row["probability"] = p.probs[static_cast<size_t>(p.label)];
  if (all_probs) {
    nlohmann::json probs;
    for (size_t c = 0; c < p.probs.size(); ++c) probs[package.labels[c]] = p.probs[c];
    row["probs"] = probs;
  }
  if (with_ids) row["ids"] = p.ids;
}

// The row's text, and for a pair model its second text, into the batch.
Status TakeTexts(const nlohmann::json& row, const std::string& text_field, const std::string& pair_field,
                 std::vector<std::string>* texts, std::vector<std::string>* pairs) {
  if (!row.contains(text_field) || !row[text_field].is_string()) {
    return Status::Error("no string field \"" + text_field + "\" (--text-field names another)");
  }
  if (!pair_field.empty() && (!row.contains(pair_field) || !row[pair_field].is_string())) {
    return Status::Error("no string field \"" + pair_field +
                         "\": the model classifies text pairs (--pair-field names another)");
  }
  texts->push_back(row[text_field].get<std::string>());
  if (!pair_field.empty()) pairs->push_back(row[pair_field].get<std::string>());
  return Status::Ok();
}

int Fail(const std::string& message) {
  std::cerr << "polysweep predict: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  KeepFreedMemory();
  CLI::App app{"polysweep predict: classify JSON lines from stdin with an exported model"};
  std::string dir, text_field = "text", label_field = "label", lang_field = "lang", input_name = "stdin";
  int batch = 64, threads = 0;
  bool all_probs = false;
  std::string input;
  app.add_option("MODEL", dir, "the model directory a sweep exported (<output_dir>/model)")->required();
  app.add_option("INPUT", input, "JSON lines to classify (default: stdin)");
  app.add_option("--text-field", text_field, "the field holding the text");
  std::string pair_field;
  app.add_option("--pair-field", pair_field, "a text-pair model: the field of the second text (default: its data's)");
  app.add_option("--label-field", label_field, "lines with this field are scored against it");
  app.add_option("--lang-field", lang_field, "scores are also given per value of this field");
  app.add_option("--batch", batch, "texts classified together")->check(CLI::Range(1, 65536));
  app.add_option("--threads", threads, "compute threads (default: all cores)")->check(CLI::Range(0, 1024));
  app.add_flag("--probs", all_probs, "also write every label's probability (\"probs\")");
  bool with_ids = false;
  app.add_flag("--ids", with_ids, "also write the token ids each text was classified as (\"ids\")");
  std::string to_hf;
  app.add_option("--to-hf", to_hf, "instead of classifying, write MODEL in Hugging Face's layout to this directory");
  CLI11_PARSE(app, argc, argv);
  if (!to_hf.empty()) {
    Status written = ExportHfModel(dir, to_hf);
    return written.ok() ? 0 : Fail(written.message());
  }
  SetComputeThreads(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));

  auto predictor = Predictor::Load(dir);
  if (!predictor.ok()) return Fail(predictor.status().message());
  const ModelPackage& package = (*predictor)->package();
  if (pair_field.empty()) pair_field = package.text_pair_field;
  if (package.text_pair_field.empty()) pair_field.clear();
  const auto t0 = std::chrono::steady_clock::now();
  std::map<std::string, Tally> by_lang;
  Tally total;
  int64_t classified = 0, line_number = 0;
  std::vector<nlohmann::json> rows;
  std::vector<std::string> texts, pairs;
  auto flush = [&]() -> Status {
    auto predictions = (*predictor)->Classify(texts, pairs);
    if (!predictions.ok()) return predictions.status();
    for (size_t i = 0; i < rows.size(); ++i) {
      Score(rows[i], (*predictions)[i], package, label_field, lang_field, &total, &by_lang);
      Annotate(rows[i], (*predictions)[i], package, all_probs, with_ids);
      std::cout << rows[i].dump() << "\n";
    }
    classified += static_cast<int64_t>(rows.size());
    rows.clear();
    texts.clear();
    pairs.clear();
    return Status::Ok();
  };
  std::ifstream file;
  if (!input.empty()) {
    file.open(input, std::ios::binary);
    if (!file) return Fail(input + ": cannot open");
    input_name = input;
  }
  std::istream& in = input.empty() ? std::cin : file;
  std::string line;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = input_name + ":" + std::to_string(line_number) + ": ";
    nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    if (row.is_discarded() || !row.is_object()) return Fail(where + "not a JSON object");
    if (Status s = TakeTexts(row, text_field, pair_field, &texts, &pairs); !s.ok()) return Fail(where + s.message());
    rows.push_back(std::move(row));
    if (static_cast<int>(rows.size()) == batch) {
      if (Status s = flush(); !s.ok()) return Fail(where + s.message());
    }
  }
  if (Status s = flush(); !s.ok()) return Fail(s.message());
  std::cout.flush();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char buf[200];
  std::snprintf(buf, sizeof buf, "classified %lld texts in %.2f s (%.0f texts/s) with %s trial %llu",
                static_cast<long long>(classified), seconds, seconds > 0 ? static_cast<double>(classified) / seconds : 0.0,
                package.sweep.c_str(), static_cast<unsigned long long>(package.trial));
  std::cerr << buf << "\n";
  PrintAccuracy(total, by_lang);
  return 0;
}
