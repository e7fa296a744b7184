#include "worker/tag_lines.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/class_report.h"
#include "common/files.h"
#include "worker/json_lines.h"
#include "worker/split_eval.h"

namespace polysweep {
namespace {

// A line's words, with their byte offsets in the text.
struct Words {
  std::string text;
  std::vector<std::string> words;
  std::vector<std::pair<size_t, size_t>> bytes;
};

// The text split at white space, or the tokens array joined by spaces.
StatusOr<Words> ReadWords(const nlohmann::json& row, const TagLineOptions& o) {
  Words w;
  if (row.contains(o.tokens_field) && row[o.tokens_field].is_array()) {
    for (const auto& t : row[o.tokens_field]) {
      if (!t.is_string()) return Status::Error("field \"" + o.tokens_field + "\" holds a non-string");
      w.words.push_back(t.get<std::string>());
      if (!w.text.empty()) w.text += ' ';
      w.bytes.emplace_back(w.text.size(), w.text.size() + w.words.back().size());
      w.text += w.words.back();
    }
  } else if (row.contains(o.text_field) && row[o.text_field].is_string()) {
    w.text = row[o.text_field].get<std::string>();
    size_t i = 0;
    while ((i = w.text.find_first_not_of(" \t\r\n", i)) != std::string::npos) {
      const size_t end = std::min(w.text.find_first_of(" \t\r\n", i), w.text.size());
      w.words.push_back(w.text.substr(i, end - i));
      w.bytes.emplace_back(i, end);
      i = end;
    }
  } else {
    return Status::Error("no string field \"" + o.text_field + "\" and no array \"" + o.tokens_field +
                         "\" (--text-field names another)");
  }
  if (w.words.empty()) return Status::Error("the text has no words");
  return w;
}

// Code points before byte `at` of `text`.
size_t Chars(const std::string& text, size_t at) {
  size_t n = 0;
  for (size_t i = 0; i < at && i < text.size(); ++i) n += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
  return n;
}

void Annotate(nlohmann::json& row, const Words& w, const Tagging& t, const Predictor& p) {
  const auto& labels = p.package().labels;
  nlohmann::json words = nlohmann::json::array();
  for (size_t i = 0; i < w.words.size(); ++i) {
    const WordTag& tag = t.words[i];
    words.push_back({{"word", w.words[i]}, {"start", Chars(w.text, w.bytes[i].first)},
                     {"end", Chars(w.text, w.bytes[i].second)},
                     {"tag", tag.tag < 0 ? nlohmann::json() : nlohmann::json(labels[static_cast<size_t>(tag.tag)])},
                     {"probability", tag.probability}});
  }
  row["words"] = words;
  if (p.span_tags().types.empty()) return;
  nlohmann::json entities = nlohmann::json::array();
  for (const Span& s : t.entities) {
    const size_t begin = w.bytes[static_cast<size_t>(s.begin)].first, end = w.bytes[static_cast<size_t>(s.end - 1)].second;
    entities.push_back({{"type", p.span_tags().types[static_cast<size_t>(s.type)]},
                        {"text", w.text.substr(begin, end - begin)},
                        {"start", Chars(w.text, begin)},
                        {"end", Chars(w.text, end)},
                        {"words", {s.begin, s.end}}});
  }
  row["entities"] = entities;
}

// The gold tags of a labelled line (its tags array), as label ids; false
// when the line has none, or a tag the model does not know (counted).
bool GoldTags(const nlohmann::json& row, const TagLineOptions& o, const Predictor& p, size_t words,
              std::vector<int>* gold, int64_t* unknown) {
  if (!row.contains(o.tags_field) || !row[o.tags_field].is_array()) return false;
  const auto& labels = p.package().labels;
  for (const auto& t : row[o.tags_field]) {
    const auto it = t.is_string() ? std::find(labels.begin(), labels.end(), t.get<std::string>()) : labels.end();
    if (it == labels.end()) {
      ++*unknown;
      return false;
    }
    gold->push_back(static_cast<int>(it - labels.begin()));
  }
  return gold->size() == words;
}

}  // namespace

Status TagLines(Predictor& predictor, std::istream& in, const std::string& input_name, const TagLineOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  TagTally overall(predictor);
  std::map<std::string, TagTally> by_language;
  int64_t tagged = 0, unknown = 0, scored = 0;
  std::vector<nlohmann::json> rows;
  std::vector<Words> words;
  auto flush = [&]() -> Status {
    std::vector<std::vector<std::string>> sentences;
    std::vector<std::string> langs;  // a word feature of a model with model.word_features
    for (const Words& w : words) sentences.push_back(w.words);
    for (const auto& row : rows) {
      langs.push_back(row.contains(o.lang_field) && row[o.lang_field].is_string() ? row[o.lang_field].get<std::string>()
                                                                                 : std::string());
    }
    auto tags = predictor.Tag(sentences, langs);
    if (!tags.ok()) return tags.status();
    for (size_t i = 0; i < rows.size(); ++i) {
      std::vector<int> gold, guess;
      if (GoldTags(rows[i], o, predictor, words[i].words.size(), &gold, &unknown)) {
        std::vector<int> kept;  // words past max_length are not scored
        for (size_t k = 0; k < gold.size(); ++k) {
          const int t = (*tags)[i].words[k].tag;
          if (t < 0) continue;
          kept.push_back(gold[k]);
          guess.push_back(t);
        }
        overall.Add(predictor, kept, guess);
        const std::string lang = rows[i].value(o.lang_field, std::string("?"));
        by_language.try_emplace(lang, predictor).first->second.Add(predictor, kept, guess);
        ++scored;
      }
      if (o.report) continue;
      Annotate(rows[i], words[i], (*tags)[i], predictor);
      std::cout << rows[i].dump() << "\n";
    }
    tagged += static_cast<int64_t>(rows.size());
    rows.clear();
    words.clear();
    return Status::Ok();
  };
  PS_RETURN_IF_ERROR(ForEachJsonLine(in, input_name, [&](nlohmann::json row, const std::string& where) -> Status {
    auto w = ReadWords(row, o);
    if (!w.ok()) return w.status().With(where);
    rows.push_back(std::move(row));
    words.push_back(std::move(*w));
    if (static_cast<int>(rows.size()) == o.batch) PS_RETURN_IF_ERROR(flush().With(where));
    return Status::Ok();
  }));
  PS_RETURN_IF_ERROR(flush());
  std::cout.flush();
  const SplitScores scores = TagScores(predictor, overall, by_language);
  if (o.report) {
    if (scored == 0) return Status::Error(input_name + ": no line carries a \"" + o.tags_field + "\" array the model knows");
    std::cout << RenderClassReport(scores.overall) << "\n" << RenderLanguageSummary(scores.by_language);
    if (!o.report_json.empty()) {
      PS_RETURN_IF_ERROR(WriteFileAtomic(o.report_json, ClassReportJson(scores.overall, scores.by_language)));
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char buf[256];
  std::snprintf(buf, sizeof buf, "tagged %lld texts in %.2f s with %s trial %llu", static_cast<long long>(tagged),
                seconds, predictor.package().sweep.c_str(), static_cast<unsigned long long>(predictor.package().trial));
  std::cerr << buf << "\n";
  if (scored > 0) {
    std::snprintf(buf, sizeof buf, "word accuracy %.4f", scores.overall.accuracy);
    std::string summary = buf;
    if (scores.overall.micro) {
      std::snprintf(buf, sizeof buf, "   entity f1 %.4f", scores.overall.micro->f1);
      summary += buf;
    }
    std::cerr << summary << " on " << scored << " labelled lines\n";
  }
  if (unknown > 0) std::cerr << unknown << " labelled lines carry a tag the model does not know (not scored)\n";
  return Status::Ok();
}

}  // namespace polysweep
