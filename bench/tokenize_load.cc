// polysweep_tokenize_load: encodes texts (one JSON string per line) with a
// tokenizer on one thread, as the sharder encodes each text, and prints the
// fastest of --rounds rounds as JSON: {"texts": N, "ids": I, "seconds": S}.
// Loading the tokenizer and reading the texts are outside the clock.
// bench/pretrained.py runs it against Hugging Face's tokenizers.
#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  using namespace polysweep;
  CLI::App app("Times a tokenizer encoding texts on one thread");
  std::string tokenizer_path, texts_path, ids_name = "wordpiece";
  int rounds = 3;
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json, vocab.txt or a SentencePiece model")->required();
  app.add_option("--ids", ids_name, "wordpiece, sentencepiece or fairseq");
  app.add_option("--texts", texts_path, "one JSON string per line")->required();
  app.add_option("--rounds", rounds, "the fastest round counts");
  CLI11_PARSE(app, argc, argv);
  auto ids = ParseTokenIds(ids_name);
  if (!ids.ok()) return std::cerr << ids.status().message() << "\n", 2;
  auto tokenizer = Tokenizer::Load(tokenizer_path, *ids);
  if (!tokenizer.ok()) return std::cerr << tokenizer.status().message() << "\n", 1;
  std::vector<std::string> texts;
  std::ifstream in(texts_path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) texts.push_back(nlohmann::json::parse(line).get<std::string>());
  }
  double best = 1e300;
  size_t total = 0;
  std::vector<int> out;
  for (int r = 0; r < rounds; ++r) {
    total = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& text : texts) {
      out.clear();
      if (Status s = (*tokenizer)->Encode(text, size_t{1} << 20, &out); !s.ok()) {
        return std::cerr << s.message() << "\n", 1;
      }
      total += out.size();
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::cout << nlohmann::json{{"texts", texts.size()}, {"ids", total}, {"seconds", best}}.dump() << "\n";
  return 0;
}
