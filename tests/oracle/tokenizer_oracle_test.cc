// polysweep's tokenizers against Hugging Face's own tokenizers library (its
// Node binding from npm, tests/oracle/hf_tokenizers.js): over 10,000 texts
// of the default dataset's 14 languages and of Chinese, Thai, accented,
// emoji, control-character and over-long-word text, the ids must be
// identical, for WordPiece vocabularies trained by the library's own trainer
// (cased, as multilingual BERT, and uncased with accents stripped, as BERT
// and DistilBERT uncased) read from the library's tokenizer.json and from
// vocab.txt + tokenizer_config.json, and for the tokenizer.json polysweep
// writes; for a byte-level BPE (RoBERTa's) likewise, from tokenizer.json
// and from vocab.json + merges.txt; and for a SentencePiece unigram model with XLM-R's ids against the
// tokenizer.json that Hugging Face's converter makes of it (where a text has
// two segmentations of equal score, the two libraries may pick either).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/files.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/wordpiece.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

constexpr size_t kPerLanguage = 700;

// Text the default dataset lacks: Chinese, Thai, accents in composed and
// decomposed form, case mappings that change length, emoji (with joiners
// and modifiers), control and format characters, odd whitespace, special
// tokens inside text, punctuation of many scripts, and over-long words.
std::vector<std::string> EdgeTexts() {
  const std::vector<std::string> parts = {
      "机器学习模型的微调", "自然语言处理很有趣。", "我们在集群上训练模型，然后部署它。", "漢字と ひらがな とカタカナ",
      "한국어 문장입니다.", "ภาษาไทยไม่มีช่องว่างระหว่างคำ", "สวัสดีครับ ยินดีต้อนรับ", "Crème brûlée à la française",
      "Ærøskøbing, Straße, İstanbul, ΣΟΦΊΑ ΟΔΟΣ", "naïve café résumé", "Cafe\xcc\x81 decomposed e\xcc\x81",
      "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "ﬁnance ﬂour Ⅻ ㍿", "emoji 😀🥰👍🏽 👨‍👩‍👧 🇩🇪 ❤️", "tab\there\nnewline\r\nreturn",
      "zero\xe2\x80\x8bwidth soft\xc2\xadhyphen", "ctrl\x01\x02\x7f chars", "nbsp\xc2\xa0space ideographic\xe3\x80\x80space",
      "[CLS] literal [SEP] and [MASK] tokens[UNK]", "¿Qué? ¡Sí! «guillemets» „Anführung“ ‹›", "a—b–c…d・e、f。",
      "Привет, мир! Ёлка", "Ελληνικά: Σίσυφος", "עברית ועוד", "العربية، نص", "हिन्दी पाठ", "Tiếng Việt có dấu",
      "pneumonoultramicroscopicsilicovolcanoconiosispneumonoultramicroscopicsilicovolcanoconiosispneumonoultra"
      "microscopic",
      "don't it's we're they've I'm we'll he'd 'quoted' rock'n'roll", "many   spaces  and trailing  ",
      "a <mask> b<mask>c  <mask>", "literal <s> and </s> and <pad>", "x", "", "   ", "ǅungla ǈ ǋ", "ΑΒΓ ΆΈΉ ϒ ϓ", "ŉ ǰ ΐ ẞ", "𠀀𠀁 𪜀 丽 丽", "U+F900: 豈 更", "Ⓐⓑ ① ²³",
  };
  std::vector<std::string> texts = parts;
  for (size_t i = 0; i < parts.size(); ++i) {
    for (size_t j = 0; j < parts.size(); ++j) texts.push_back(parts[i] + " " + parts[j]);
  }
  texts.push_back(std::string(300, 'a'));
  texts.push_back(std::string(101, 'b') + " short " + std::string(100, 'c'));
  return texts;
}

class TokenizerOracleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir() + "tokenizer_oracle.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = new std::string(tmpl);
    texts_ = new std::vector<std::string>(EdgeTexts());
    std::ifstream in(POLYSWEEP_DEFAULT_DATA);
    ASSERT_TRUE(in) << POLYSWEEP_DEFAULT_DATA << " (scripts/make-default-data builds it)";
    std::map<std::string, size_t> taken;
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (taken[j["lang"].get<std::string>()]++ < kPerLanguage) texts_->push_back(j["text"].get<std::string>());
    }
    ASSERT_EQ(taken.size(), 14u);
    std::ofstream out(*dir_ + "/texts.jsonl", std::ios::binary);
    for (const std::string& t : *texts_) out << nlohmann::json(t).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete texts_;
  }

  static void Node(const std::string& args) {
    const std::string command = "NODE_PATH=" POLYSWEEP_ORACLE_NODE_PATH " node " POLYSWEEP_SOURCE_DIR
                                "/tests/oracle/hf_tokenizers.js " + args;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  // The library's ids of every text, with `tokenizer_json`.
  static std::vector<std::vector<int>> Reference(const std::string& tokenizer_json) {
    const std::string out = *dir_ + "/reference.txt";
    Node("encode " + tokenizer_json + " " + *dir_ + "/texts.jsonl " + out);
    std::vector<std::vector<int>> ids;
    std::ifstream in(out);
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      ids.emplace_back();
      for (int id; fields >> id;) ids.back().push_back(id);
    }
    return ids;
  }

  // Requires `tokenizer` to give every text the reference's ids. With
  // `scores` (a unigram model's score of each id), a text whose two
  // segmentations score the same within float precision is a tie, which
  // libsentencepiece (float sums) and the library (double sums) may break
  // differently: counted, and allowed in at most 1 text in 1,000.
  static void ExpectSameIds(const Tokenizer& tokenizer, const std::vector<std::vector<int>>& reference,
                            const std::vector<double>* scores = nullptr) {
    ASSERT_EQ(reference.size(), texts_->size());
    size_t mismatches = 0, ties = 0;
    auto score = [&](const std::vector<int>& ids) {
      double sum = 0;
      for (int id : ids) sum += (*scores)[static_cast<size_t>(id)];
      return sum;
    };
    for (size_t i = 0; i < texts_->size(); ++i) {
      std::vector<int> ids;
      ASSERT_TRUE(tokenizer.Encode((*texts_)[i], 1 << 20, &ids).ok());
      if (ids == reference[i]) continue;
      if (scores != nullptr && std::abs(score(ids) - score(reference[i])) <= 1e-6 * std::abs(score(ids))) {
        ++ties;
        continue;
      }
      if (++mismatches <= 5) {
        ADD_FAILURE() << "text " << i << ": " << (*texts_)[i] << "\n ours:   " << ::testing::PrintToString(ids)
                      << "\n theirs: " << ::testing::PrintToString(reference[i]);
      }
    }
    EXPECT_EQ(mismatches, 0u) << "of " << texts_->size() << " texts";
    EXPECT_LE(ties * 1000, texts_->size()) << ties << " ties";
    std::cout << texts_->size() << " texts: " << mismatches << " differ, " << ties << " equal-score ties\n";
  }

  // The directory `dir` the library wrote (`older` its pre-tokenizer.json
  // form: vocab.txt, vocab.json) encodes every text as the library does,
  // from either form, and so does the tokenizer.json polysweep writes of it.
  static void AgreesWithTheLibrary(const std::string& dir, const std::string& older, TokenIds ids) {
    const auto reference = Reference(dir + "/tokenizer.json");
    for (const std::string& file : {std::string("tokenizer.json"), older}) {
      SCOPED_TRACE(file);
      auto tokenizer = Tokenizer::Load(dir + "/" + file, ids);
      ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
      ExpectSameIds(**tokenizer, reference);
    }
    const std::string ours = dir + "/ours";
    fs::create_directories(ours);
    auto file = Tokenizer::CopyInto(dir + "/" + older, ids, ours);
    ASSERT_TRUE(file.ok()) << file.status().message();
    EXPECT_EQ(Reference(ours + "/" + *file), reference);
  }

  void WordPieceAgrees(bool lowercase) {
    ASSERT_GE(texts_->size(), 10000u);
    const std::string bert = *dir_ + (lowercase ? "/uncased" : "/cased");
    Node("train-wordpiece " + *dir_ + "/texts.jsonl " + (lowercase ? "true " : "false ") + bert);
    AgreesWithTheLibrary(bert, "vocab.txt", TokenIds::kWordPiece);
  }

  static std::string* dir_;
  static std::vector<std::string>* texts_;
};

std::string* TokenizerOracleTest::dir_ = nullptr;
std::vector<std::string>* TokenizerOracleTest::texts_ = nullptr;

TEST_F(TokenizerOracleTest, CasedWordPieceGivesTheLibrarysIds) { WordPieceAgrees(false); }

TEST_F(TokenizerOracleTest, UncasedWordPieceGivesTheLibrarysIds) { WordPieceAgrees(true); }

// RoBERTa's tokenizer: byte-level BPE, trained by the library's own trainer.
TEST_F(TokenizerOracleTest, ByteLevelBpeGivesTheLibrarysIds) {
  ASSERT_GE(texts_->size(), 10000u);
  const std::string roberta = *dir_ + "/roberta";
  Node("train-bpe " + *dir_ + "/texts.jsonl " + roberta);
  AgreesWithTheLibrary(roberta, "vocab.json", TokenIds::kByteBpe);
}

// XLM-R's tokenizer: a SentencePiece unigram model read by libsentencepiece
// with fairseq's ids, against the library's Unigram model of the
// tokenizer.json Hugging Face's converter makes of the same model.
TEST_F(TokenizerOracleTest, SentencePieceUnigramWithXlmRobertasIdsGivesTheLibrarysIds) {
  const std::string plain = *dir_ + "/plain.txt";
  {
    std::ofstream out(plain, std::ios::binary);
    for (std::string t : *texts_) {
      std::replace(t.begin(), t.end(), '\n', ' ');
      std::replace(t.begin(), t.end(), '\r', ' ');
      out << t << "\n";
    }
  }
  ASSERT_TRUE(Tokenizer::Train("--input=" + plain + " --model_prefix=" + *dir_ + "/spm --vocab_size=8000" +
                               " --model_type=unigram --character_coverage=0.9995 --hard_vocab_limit=false" +
                               " --minloglevel=2")
                  .ok());
  const std::string converted = *dir_ + "/xlmr-tokenizer.json";
  const std::string command = "/usr/bin/python3 " POLYSWEEP_SOURCE_DIR "/tests/oracle/spm_to_tokenizer_json.py " +
                              *dir_ + "/spm.model " + converted;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto tokenizer = Tokenizer::Load(*dir_ + "/spm.model", TokenIds::kFairseq);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  std::ifstream in(converted);
  const nlohmann::json library = nlohmann::json::parse(in);
  std::vector<double> scores;
  for (const auto& entry : library["model"]["vocab"]) scores.push_back(entry[1].get<double>());
  ASSERT_EQ(static_cast<int>(scores.size()), (*tokenizer)->vocab_size());
  ExpectSameIds(**tokenizer, Reference(converted), &scores);
}

}  // namespace
}  // namespace polysweep
