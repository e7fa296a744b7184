// polysweep-predict: classifies JSON lines with an exported model (what
// `polysweep predict MODEL [INPUT]` and `polysweep evaluate MODEL FILE`
// run). Reads {"text": ...} objects from INPUT or stdin (with the second
// text of a pair, for a model trained on pairs, in the field its data had),
// writes each object back with "predicted" (the label) and "probability"
// added. Lines that carry a label are scored: accuracy overall and per
// language, on stderr at the end; with --report (`evaluate`), the
// per-class report of them instead of the lines.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/class_report.h"
#include "common/files.h"
#include "worker/allocator.h"
#include "worker/hf_export.h"
#include "worker/json_lines.h"
#include "common/example.h"
#include "worker/quantize_flags.h"
#include "worker/regression_report.h"
#include "worker/predictor.h"
#include "worker/split_eval.h"
#include "worker/tag_lines.h"
#include "worker/threads.h"

using namespace polysweep;

namespace {

// The labelled lines' confusion counts, overall and per language: the
// accuracy lines on stderr, or the per-class report (--report).
class Scorer {
 public:
  Scorer(const Predictor& predictor, std::string label_field, std::string lang_field)
      : package_(predictor.package()), kind_(predictor.label_kind()), label_field_(std::move(label_field)), lang_field_(std::move(lang_field)), total_(package_.labels.size()),
        sets_(package_.labels.size()) {}

  void Add(const nlohmann::json& row, const Prediction& p) {
    if (kind_ == LabelKind::kRealValue) return AddValue(row, p);
    if (kind_ == LabelKind::kMultiHot) return AddLabelSet(row, p);
    if (!row.contains(label_field_) || !row[label_field_].is_string()) return;
    const auto& labels = package_.labels;
    const auto gold = std::find(labels.begin(), labels.end(), row[label_field_].get<std::string>());
    if (gold == labels.end()) {
      ++unknown_;
      return;
    }
    const auto k = static_cast<size_t>(gold - labels.begin());
    total_.Add(k, static_cast<size_t>(p.label));
    if (row.contains(lang_field_) && row[lang_field_].is_string()) {
      by_lang_.try_emplace(row[lang_field_].get<std::string>(), labels.size()).first->second.Add(k, static_cast<size_t>(p.label));
    }
  }

  // A regression's labelled line: its number (JSON number or numeric string) against the prediction.
  void AddValue(const nlohmann::json& row, const Prediction& p) {
    if (!row.contains(label_field_)) return;
    const nlohmann::json& label = row[label_field_];
    auto gold = label.is_number() ? StatusOr<float>(label.get<float>())
                                  : label.is_string() ? ParseRealLabel(label.get<std::string>()) : Status::Error("");
    if (!gold.ok()) {
      ++unknown_;
      return;
    }
    const bool has_lang = row.contains(lang_field_) && row[lang_field_].is_string();
    values_.Add(has_lang ? row[lang_field_].get<std::string>() : "?", *gold, p.value);
  }

  // A multi-label line: its list of labels against the predicted ones; a
  // line with a label the model does not know is not scored.
  void AddLabelSet(const nlohmann::json& row, const Prediction& p) {
    if (!row.contains(label_field_)) return;
    if (!row[label_field_].is_array()) {
      ++unknown_;
      return;
    }
    const auto& labels = package_.labels;
    std::vector<bool> gold(labels.size()), guess(labels.size());
    for (const auto& label : row[label_field_]) {
      const auto at = label.is_string() ? std::find(labels.begin(), labels.end(), label.get<std::string>()) : labels.end();
      if (at == labels.end()) {
        ++unknown_;
        return;
      }
      gold[static_cast<size_t>(at - labels.begin())] = true;
    }
    for (int k : p.labels) guess[static_cast<size_t>(k)] = true;
    sets_.Add(gold, guess);
    if (row.contains(lang_field_) && row[lang_field_].is_string()) {
      sets_by_lang_.try_emplace(row[lang_field_].get<std::string>(), labels.size()).first->second.Add(gold, guess);
    }
  }

  // The accuracy over the labelled lines, overall and per language, on stderr.
  void PrintAccuracy() const {
    if (kind_ == LabelKind::kRealValue) {
      if (values_.size() > 0) std::cerr << RenderRegressionReport(values_.Report());
      if (unknown_ > 0) std::cerr << unknown_ << " labelled lines carry a label that is not a number (not scored)\n";
      return;
    }
    const ClassReport all = Overall();
    if (all.total > 0) {
      char buf[200];
      if (kind_ == LabelKind::kMultiHot) {
        std::snprintf(buf, sizeof buf, "micro-F1 %.4f, exact match %.4f on %lld labelled lines", all.micro->f1,
                      all.accuracy, static_cast<long long>(all.total));
      } else {
        std::snprintf(buf, sizeof buf, "accuracy %.4f on %lld labelled lines", all.accuracy,
                      static_cast<long long>(all.total));
      }
      std::cerr << buf << "\n";
      for (const auto& [lang, r] : Languages()) {
        std::snprintf(buf, sizeof buf, "  %-8s %.4f  (%lld)", lang.c_str(), kind_ == LabelKind::kMultiHot ? r.micro->f1 : r.accuracy,
                      static_cast<long long>(r.total));
        std::cerr << buf << "\n";
      }
    }
    if (unknown_ > 0) {
      std::cerr << unknown_ << " labelled lines carry a label the model does not know"
                << (kind_ == LabelKind::kMultiHot ? " or no list of labels" : "") << " (not scored)\n";
    }
  }

  // The per-class report and the languages' summary (on stdout), and the
  // whole report as JSON into `json_path` when given.
  Status Report(const std::string& json_path) const {
    if (kind_ == LabelKind::kRealValue) {
      if (values_.size() == 0) return Status::Error("no line carries a numeric label (--label-field names another)");
      const RegressionReport r = values_.Report();
      std::cout << RenderRegressionReport(r);
      return json_path.empty() ? Status::Ok() : WriteFileAtomic(json_path, RegressionReportJson(r));
    }
    const ClassReport all = Overall();
    if (all.total == 0) return Status::Error("no line carries a label the model knows (--label-field names another)");
    const auto langs = Languages();
    std::cout << RenderClassReport(all) << "\n" << RenderLanguageSummary(langs);
    if (json_path.empty()) return Status::Ok();
    return WriteFileAtomic(json_path, ClassReportJson(all, langs));
  }

 private:
  ClassReport Overall() const {
    return kind_ == LabelKind::kMultiHot ? sets_.Report(package_.labels) : MakeClassReport(package_.labels, total_);
  }
  std::map<std::string, ClassReport> Languages() const {
    std::map<std::string, ClassReport> out;
    for (const auto& [lang, c] : by_lang_) out.emplace(lang, MakeClassReport(package_.labels, c));
    for (const auto& [lang, t] : sets_by_lang_) out.emplace(lang, t.Report(package_.labels));
    return out;
  }

  const ModelPackage& package_;
  LabelKind kind_;  // what the model's labels are (a class, a set, a number)
  std::string label_field_, lang_field_;
  Confusion total_;
  std::map<std::string, Confusion> by_lang_;
  LabelSetTally sets_;
  std::map<std::string, LabelSetTally> sets_by_lang_;
  RegressionTally values_;
  int64_t unknown_ = 0;
};

// The prediction written into its row: the label and its probability, and
// on request every label's probability and the token ids.
void Annotate(nlohmann::json& row, const Prediction& p, const Predictor& predictor, bool all_probs, bool with_ids) {
  const ModelPackage& package = predictor.package();
  if (predictor.regresses()) {
    row["predicted"] = p.value;
    if (with_ids) row["ids"] = p.ids;
    return;
  }
  if (predictor.multi_label()) {
    row["predicted"] = nlohmann::json::array();
    row["probabilities"] = nlohmann::json::array();
    for (int k : p.labels) {
      row["predicted"].push_back(package.labels[static_cast<size_t>(k)]);
      row["probabilities"].push_back(p.probs[static_cast<size_t>(k)]);
    }
  } else {
    row["predicted"] = package.labels[static_cast<size_t>(p.label)];
    row["probability"] = p.probs[static_cast<size_t>(p.label)];
  }
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

struct Options {
  std::string dir, input, text_field = "text", pair_field, label_field, lang_field = "lang";
  int batch = 64, threads = 0;
  bool all_probs = false, with_ids = false, report = false;
  std::string report_json, to_hf, shards, split = "test";
  QuantizeFlags quantize;
};

void AddOptions(CLI::App& app, Options* o) {
  app.add_option("MODEL", o->dir, "the model directory a sweep exported (<output_dir>/model)")->required();
  app.add_option("INPUT", o->input, "JSON lines to classify (default: stdin)");
  app.add_option("--text-field", o->text_field, "the field holding the text");
  app.add_option("--pair-field", o->pair_field, "a text-pair model: the field of the second text (default: its data's)");
  app.add_option("--label-field", o->label_field,
                 "lines with this field are scored against it (default: label; a multi-label model's: labels)");
  app.add_option("--lang-field", o->lang_field, "scores are also given per value of this field");
  app.add_option("--batch", o->batch, "texts classified together")->check(CLI::Range(1, 65536));
  app.add_option("--threads", o->threads, "compute threads (default: all cores)")->check(CLI::Range(0, 1024));
  app.add_flag("--probs", o->all_probs, "also write every label's probability (\"probs\")");
  app.add_flag("--ids", o->with_ids, "also write the token ids each text was classified as (\"ids\")");
  app.add_flag("--report", o->report,
               "instead of the lines, print the per-class report of the labelled lines (precision, recall, F1, "
               "support; per language too)");
  app.add_option("--report-json", o->report_json, "with --report: also write the whole report as JSON to this file");
  app.add_option("--shards", o->shards,
                 "instead of lines, score a split of these shards (the model's own: <output_dir>/data)");
  app.add_option("--split", o->split, "with --shards: train, valid or test (default)");
  AddQuantizeFlags(app, &o->quantize);
  app.add_option("--to-hf", o->to_hf, "instead of classifying, write MODEL in Hugging Face's layout to this directory");
}

// A regression model's report (and its JSON with --report-json), and the summary line on stderr.
int ReportValues(const Options& o, const RegressionReport& r, const std::string& what,
                 std::chrono::steady_clock::time_point t0) {
  std::cout << RenderRegressionReport(r);
  std::cout.flush();
  if (!o.report_json.empty()) {
    Status s = WriteFileAtomic(o.report_json, RegressionReportJson(r));
    if (!s.ok()) return Fail(s.message());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char buf[256];
  std::snprintf(buf, sizeof buf, "scored %s (%lld examples) in %.2f s: rmse %.4f, mae %.4f, pearson %.4f, spearman %.4f",
                what.c_str(), static_cast<long long>(r.overall.count), seconds, r.overall.rmse, r.overall.mae,
                r.overall.pearson, r.overall.spearman);
  std::cerr << buf << "\n";
  return 0;
}

// --shards: the per-class report of one split of the model's shards.
int ScoreShards(const Options& o, Predictor& predictor) {
  auto split = ParseSplit(o.split);
  if (!split.ok()) return Fail("--split: " + split.status().message());
  const auto t0 = std::chrono::steady_clock::now();
  auto scores = EvaluateSplit(predictor, o.shards, *split, o.batch);
  if (!scores.ok()) return Fail(scores.status().message());
  if (scores->regression) return ReportValues(o, *scores->regression, "the " + o.split + " split of " + o.shards, t0);
  std::cout << RenderClassReport(scores->overall) << "\n" << RenderLanguageSummary(scores->by_language);
  std::cout.flush();
  if (!o.report_json.empty()) {
    Status s = WriteFileAtomic(o.report_json, ClassReportJson(scores->overall, scores->by_language));
    if (!s.ok()) return Fail(s.message());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char buf[256];
  const ClassReport& all = scores->overall;
  if (all.kind == ReportKind::kLabelSets) {
    std::snprintf(buf, sizeof buf,
                  "scored the %s split of %s (%lld examples) in %.2f s: micro-F1 %.4f (precision %.4f, recall "
                  "%.4f), macro-F1 %.4f, exact match %.4f",
                  o.split.c_str(), o.shards.c_str(), static_cast<long long>(all.total), seconds, all.micro->f1,
                  all.micro->precision, all.micro->recall, all.macro.f1, all.accuracy);
  } else if (all.micro) {  // entity tags: the spans' figures, then the words'
    std::snprintf(buf, sizeof buf,
                  "scored the %s split of %s (%lld words) in %.2f s: entity f1 %.4f (precision %.4f, recall %.4f), "
                  "word accuracy %.4f",
                  o.split.c_str(), o.shards.c_str(), static_cast<long long>(all.total), seconds, all.micro->f1,
                  all.micro->precision, all.micro->recall, all.accuracy);
  } else {
    std::snprintf(buf, sizeof buf, "scored the %s split of %s (%lld %s) in %.2f s: accuracy %.4f, macro-F1 %.4f",
                  o.split.c_str(), o.shards.c_str(), static_cast<long long>(all.total),
                  predictor.tags_words() ? "words" : "examples", seconds, all.accuracy, all.macro.f1);
  }
  std::cerr << buf << "\n";
  return 0;
}

// A token classifier's input: its words tagged (worker/tag_lines.h).
int TagInput(const Options& o, Predictor& predictor) {
  std::ifstream file;
  if (!o.input.empty()) {
    file.open(o.input, std::ios::binary);
    if (!file) return Fail(o.input + ": cannot open");
  }
  TagLineOptions t;
  t.text_field = o.text_field;
  t.lang_field = o.lang_field;
  t.batch = o.batch;
  t.report = o.report;
  t.report_json = o.report_json;
  Status s = TagLines(predictor, o.input.empty() ? std::cin : file, o.input.empty() ? "stdin" : o.input, t);
  return s.ok() ? 0 : Fail(s.message());
}

}  // namespace

int main(int argc, char** argv) {
  KeepFreedMemory();
  CLI::App app{"polysweep predict: classify JSON lines from stdin with an exported model"};
  Options o;
  AddOptions(app, &o);
  CLI11_PARSE(app, argc, argv);
  if (!o.to_hf.empty()) {
    Status written = ExportHfModel(o.dir, o.to_hf);
    return written.ok() ? 0 : Fail(written.message());
  }
  SetComputeThreads(o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));

  auto predictor = Predictor::Load(o.dir, o.quantize.options());
  if (!predictor.ok()) return Fail(predictor.status().message());
  if (o.quantize.options().int8) {
    std::cerr << o.quantize.Summary((*predictor)->int8_layers(), (*predictor)->linear_layers())
              << "\n";
  }
  if (!o.shards.empty()) return ScoreShards(o, **predictor);
  if ((*predictor)->tags_words()) return TagInput(o, **predictor);
  const ModelPackage& package = (*predictor)->package();
  std::string pair_field = package.text_pair_field.empty() ? "" : o.pair_field.empty() ? package.text_pair_field : o.pair_field;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string label_field = !o.label_field.empty()        ? o.label_field
                                  : (*predictor)->multi_label() ? "labels"
                                                                : "label";
  Scorer scorer(**predictor, label_field, o.lang_field);
  int64_t classified = 0;
  std::vector<nlohmann::json> rows;
  std::vector<std::string> texts, pairs;
  auto flush = [&]() -> Status {
    auto predictions = (*predictor)->Classify(texts, pairs);
    if (!predictions.ok()) return predictions.status();
    for (size_t i = 0; i < rows.size(); ++i) {
      scorer.Add(rows[i], (*predictions)[i]);
      if (o.report) continue;
      Annotate(rows[i], (*predictions)[i], **predictor, o.all_probs, o.with_ids);
      std::cout << rows[i].dump() << "\n";
    }
    classified += static_cast<int64_t>(rows.size());
    rows.clear();
    texts.clear();
    pairs.clear();
    return Status::Ok();
  };
  std::ifstream file;
  std::string input_name = "stdin";
  if (!o.input.empty()) {
    file.open(o.input, std::ios::binary);
    if (!file) return Fail(o.input + ": cannot open");
    input_name = o.input;
  }
  std::istream& in = o.input.empty() ? std::cin : file;
  Status read = ForEachJsonLine(in, input_name, [&](nlohmann::json row, const std::string& where) -> Status {
    PS_RETURN_IF_ERROR(TakeTexts(row, o.text_field, pair_field, &texts, &pairs).With(where));
    rows.push_back(std::move(row));
    if (static_cast<int>(rows.size()) == o.batch) PS_RETURN_IF_ERROR(flush().With(where));
    return Status::Ok();
  });
  if (!read.ok()) return Fail(read.message());
  if (Status s = flush(); !s.ok()) return Fail(s.message());
  if (o.report) {
    if (Status s = scorer.Report(o.report_json); !s.ok()) return Fail(input_name + ": " + s.message());
  }
  std::cout.flush();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char buf[200];
  std::snprintf(buf, sizeof buf, "classified %lld texts in %.2f s (%.0f texts/s) with %s trial %llu",
                static_cast<long long>(classified), seconds, seconds > 0 ? static_cast<double>(classified) / seconds : 0.0,
                package.sweep.c_str(), static_cast<unsigned long long>(package.trial));
  std::cerr << buf << "\n";
  scorer.PrintAccuracy();
  return 0;
}
