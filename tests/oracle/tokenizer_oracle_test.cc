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
// Text pairs likewise (Tokenizer::EncodePair): some 3,500 pairs of these
// texts, cut to 5, 16, 40, 128 and 2^30 ids by the library's longest-first
// truncation, give the library's ids and where its second segment begins,
// for the cased WordPiece, the byte-level BPE and XLM-R's ids.
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
#include <utility>
#include <vector>

#include "common/files.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/wordpiece.h"

namespace polysweep {
namespace {

namespace fs = std::filesystem;

constexpr size_t kPerLanguage = 700;
// The budgets text pairs are encoded with: the frame and a piece or two,
// a few more, BERT's and RoBERTa's common ones, and no cut at all.
constexpr size_t kPairMaxLengths[] = {5, 16, 40, 128, size_t{1} << 30};

using TextPair = std::pair<std::string, std::string>;

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

// Pairs of the texts: each with the next (every fifth), a text with itself
// (every 50th), three texts run together with a short one either way round
// (every 25th), and empty texts.
std::vector<TextPair> MakePairs(const std::vector<std::string>& t) {
  std::vector<TextPair> pairs = {{"", ""}, {"", t[100]}, {t[100], ""}};
  for (size_t i = 0; i + 1 < t.size(); i += 5) pairs.emplace_back(t[i], t[i + 1]);
  for (size_t i = 0; i < t.size(); i += 50) pairs.emplace_back(t[i], t[i]);
  for (size_t i = 0; i + 3 < t.size(); i += 25) {
    const std::string long_text = t[i] + " " + t[i + 1] + " " + t[i + 2];
    const std::string& short_text = t[(i / 25) % 40];  // EdgeTexts' first ones, one part each
    pairs.emplace_back(long_text, short_text);
    pairs.emplace_back(short_text, long_text);
  }
  return pairs;
}

// One line of JSON, as hf_tokenizers.js reads it.
std::string JsonLine(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// The library's encoding of a text pair.
struct LibraryPair {
  std::vector<int> ids, type_ids;
  size_t first_pieces = 0;  // the ids of the first text
};

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
    for (const std::string& t : *texts_) out << JsonLine(t);
    pairs_ = new std::vector<TextPair>(MakePairs(*texts_));
    std::ofstream pairs(*dir_ + "/pairs.jsonl", std::ios::binary);
    for (const TextPair& p : *pairs_) pairs << JsonLine(nlohmann::json::array({p.first, p.second}));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete texts_;
    delete pairs_;
  }

  static void Node(const std::string& args) {
    const std::string command = "NODE_PATH=" POLYSWEEP_ORACLE_NODE_PATH " node " POLYSWEEP_SOURCE_DIR
                                "/tests/oracle/hf_tokenizers.js " + args;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  // The library's ids of every text of `texts_file` (the texts' own when
  // empty), with `tokenizer_json`.
  static std::vector<std::vector<int>> Reference(const std::string& tokenizer_json, std::string texts_file = "") {
    if (texts_file.empty()) texts_file = *dir_ + "/texts.jsonl";
    const std::string out = *dir_ + "/reference.txt";
    Node("encode " + tokenizer_json + " " + texts_file + " " + out);
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
  // differently: counted, and allowed in at most 1 text in 1,000 (`tied`,
  // when not null, says which). `texts`: the texts' own when null.
  static void ExpectSameIds(const Tokenizer& tokenizer, const std::vector<std::vector<int>>& reference,
                            const std::vector<double>* scores = nullptr,
                            const std::vector<std::string>* texts = nullptr, std::vector<bool>* tied = nullptr) {
    if (texts == nullptr) texts = texts_;
    ASSERT_EQ(reference.size(), texts->size());
    if (tied) tied->assign(texts->size(), false);
    size_t mismatches = 0, ties = 0;
    auto score = [&](const std::vector<int>& ids) {
      double sum = 0;
      for (int id : ids) sum += (*scores)[static_cast<size_t>(id)];
      return sum;
    };
    for (size_t i = 0; i < texts->size(); ++i) {
      std::vector<int> ids;
      ASSERT_TRUE(tokenizer.Encode((*texts)[i], 1 << 20, &ids).ok());
      if (ids == reference[i]) continue;
      if (scores != nullptr && std::abs(score(ids) - score(reference[i])) <= 1e-6 * std::abs(score(ids))) {
        ++ties;
        if (tied) (*tied)[i] = true;
        continue;
      }
      if (++mismatches <= 5) {
        ADD_FAILURE() << "text " << i << ": " << (*texts)[i] << "\n ours:   " << ::testing::PrintToString(ids)
                      << "\n theirs: " << ::testing::PrintToString(reference[i]);
      }
    }
    EXPECT_EQ(mismatches, 0u) << "of " << texts->size() << " texts";
    EXPECT_LE(ties * 1000, texts->size()) << ties << " ties";
    std::cout << texts->size() << " texts: " << mismatches << " differ, " << ties << " equal-score ties\n";
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

  // The directories the library's trainers write (trained on the texts once
  // a run, by the first test that needs them).
  static std::string WordPieceDir(bool lowercase) {
    const std::string bert = *dir_ + (lowercase ? "/uncased" : "/cased");
    if (!fs::exists(bert + "/tokenizer.json")) {
      Node("train-wordpiece " + *dir_ + "/texts.jsonl " + (lowercase ? "true " : "false ") + bert);
    }
    return bert;
  }
  static std::string ByteBpeDir() {
    const std::string roberta = *dir_ + "/roberta";
    if (!fs::exists(roberta + "/tokenizer.json")) Node("train-bpe " + *dir_ + "/texts.jsonl " + roberta);
    return roberta;
  }
  // A SentencePiece unigram model trained on the texts, spm.model, and the
  // tokenizer.json Hugging Face's converter makes of it for XLM-R, returned.
  static std::string SentencePieceModel() {
    const std::string converted = *dir_ + "/xlmr-tokenizer.json";
    if (fs::exists(converted)) return converted;
    const std::string plain = *dir_ + "/plain.txt";
    {
      std::ofstream out(plain, std::ios::binary);
      for (std::string t : *texts_) {
        std::replace(t.begin(), t.end(), '\n', ' ');
        std::replace(t.begin(), t.end(), '\r', ' ');
        out << t << "\n";
      }
    }
    EXPECT_TRUE(Tokenizer::Train("--input=" + plain + " --model_prefix=" + *dir_ + "/spm --vocab_size=8000" +
                                 " --model_type=unigram --character_coverage=0.9995 --hard_vocab_limit=false" +
                                 " --minloglevel=2")
                    .ok());
    const std::string command = "/usr/bin/python3 " POLYSWEEP_SOURCE_DIR "/tests/oracle/spm_to_tokenizer_json.py " +
                                *dir_ + "/spm.model " + converted;
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return converted;
  }

  void WordPieceAgrees(bool lowercase) {
    ASSERT_GE(texts_->size(), 10000u);
    AgreesWithTheLibrary(WordPieceDir(lowercase), "vocab.txt", TokenIds::kWordPiece);
  }

  // The scores of a converted unigram model's ids.
  static std::vector<double> Scores(const std::string& converted) {
    std::ifstream in(converted);
    const nlohmann::json library = nlohmann::json::parse(in);
    std::vector<double> scores;
    for (const auto& entry : library["model"]["vocab"]) scores.push_back(entry[1].get<double>());
    return scores;
  }

  // The library's encoding of every pair, at most `max_length` ids each.
  static std::vector<LibraryPair> PairReference(const std::string& tokenizer_json, size_t max_length) {
    const std::string out = *dir_ + "/pair-reference.jsonl";
    Node("encode-pair " + tokenizer_json + " " + *dir_ + "/pairs.jsonl " + std::to_string(max_length) + " " + out);
    std::vector<LibraryPair> pairs;
    std::ifstream in(out);
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      LibraryPair p{j["ids"].get<std::vector<int>>(), j["type_ids"].get<std::vector<int>>()};
      for (const auto& seq : j["sequence_ids"]) p.first_pieces += seq.is_number() && seq.get<int>() == 0;
      pairs.push_back(std::move(p));
    }
    return pairs;
  }

  // Where EncodePair says the library's pair begins its second segment: for
  // BERT the first id of token type 1; for RoBERTa and XLM-R, whose pairs
  // the library gives no token types (all 0), the second </s> after the
  // first text. Either way, 2 ids after the first text's last.
  static size_t SecondStart(const LibraryPair& p, bool token_types) {
    const auto first_one = std::find(p.type_ids.begin(), p.type_ids.end(), 1);
    if (!token_types) {
      EXPECT_EQ(first_one, p.type_ids.end()) << "RoBERTa's and XLM-R's pairs have no token types";
      return p.first_pieces + 2;
    }
    EXPECT_TRUE(std::all_of(first_one, p.type_ids.end(), [](int t) { return t == 1; }));
    const auto start = static_cast<size_t>(first_one - p.type_ids.begin());
    EXPECT_EQ(start, p.first_pieces + 2);
    return start;
  }

  // Requires `tokenizer` to give every pair the library's ids, and the
  // second segment's start, at each of kPairMaxLengths; the pairs `skip`
  // marks are left out.
  static void ExpectSamePairs(const Tokenizer& tokenizer, const std::string& tokenizer_json, bool token_types,
                              const std::vector<bool>* skip = nullptr) {
    const size_t skipped = skip ? static_cast<size_t>(std::count(skip->begin(), skip->end(), true)) : 0;
    for (const size_t max_length : kPairMaxLengths) {
      SCOPED_TRACE("max length " + std::to_string(max_length));
      const auto reference = PairReference(tokenizer_json, max_length);
      ASSERT_EQ(reference.size(), pairs_->size());
      size_t mismatches = 0;
      for (size_t i = 0; i < pairs_->size(); ++i) {
        if (skip && (*skip)[i]) continue;
        const auto& [a, b] = (*pairs_)[i];
        std::vector<int> ids;
        std::vector<PieceOffsets> offsets;
        size_t second = 0;
        ASSERT_TRUE(tokenizer.EncodePair(a, b, max_length, &ids, &second, &offsets).ok());
        const size_t want = SecondStart(reference[i], token_types);
        if (ids == reference[i].ids && second == want && offsets.size() == ids.size()) continue;
        if (++mismatches <= 5) {
          ADD_FAILURE() << "pair " << i << ": " << a << "\n  and: " << b << "\n ours:   "
                        << ::testing::PrintToString(ids) << " second at " << second
                        << "\n theirs: " << ::testing::PrintToString(reference[i].ids) << " second at " << want;
        }
      }
      EXPECT_EQ(mismatches, 0u) << "of " << pairs_->size() - skipped << " pairs";
      std::cout << pairs_->size() - skipped << " pairs, at most " << max_length << " ids: " << mismatches
                << " differ (" << skipped << " left out)\n";
    }
  }

  static std::string* dir_;
  static std::vector<std::string>* texts_;
  static std::vector<TextPair>* pairs_;
};

std::string* TokenizerOracleTest::dir_ = nullptr;
std::vector<std::string>* TokenizerOracleTest::texts_ = nullptr;
std::vector<TextPair>* TokenizerOracleTest::pairs_ = nullptr;

TEST_F(TokenizerOracleTest, CasedWordPieceGivesTheLibrarysIds) { WordPieceAgrees(false); }

TEST_F(TokenizerOracleTest, UncasedWordPieceGivesTheLibrarysIds) { WordPieceAgrees(true); }

// RoBERTa's tokenizer: byte-level BPE, trained by the library's own trainer.
TEST_F(TokenizerOracleTest, ByteLevelBpeGivesTheLibrarysIds) {
  ASSERT_GE(texts_->size(), 10000u);
  AgreesWithTheLibrary(ByteBpeDir(), "vocab.json", TokenIds::kByteBpe);
}

// XLM-R's tokenizer: a SentencePiece unigram model read by libsentencepiece
// with fairseq's ids, against the library's Unigram model of the
// tokenizer.json Hugging Face's converter makes of the same model.
TEST_F(TokenizerOracleTest, SentencePieceUnigramWithXlmRobertasIdsGivesTheLibrarysIds) {
  const std::string converted = SentencePieceModel();
  ASSERT_FALSE(HasFailure());
  auto tokenizer = Tokenizer::Load(*dir_ + "/spm.model", TokenIds::kFairseq);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  const std::vector<double> scores = Scores(converted);
  ASSERT_EQ(static_cast<int>(scores.size()), (*tokenizer)->vocab_size());
  ExpectSameIds(**tokenizer, Reference(converted), &scores);
}

// Text pairs, [CLS] a [SEP] b [SEP] with token type 1 from b on, cut to
// each max length longest first, as the library cuts them.
TEST_F(TokenizerOracleTest, CasedWordPiecePairsGiveTheLibrarysIds) {
  const std::string json = WordPieceDir(false) + "/tokenizer.json";
  ASSERT_FALSE(HasFailure());
  auto tokenizer = Tokenizer::Load(json, TokenIds::kWordPiece);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  ExpectSamePairs(**tokenizer, json, /*token_types=*/true);
}

// RoBERTa's pairs: <s> a </s></s> b </s>.
TEST_F(TokenizerOracleTest, ByteLevelBpePairsGiveTheLibrarysIds) {
  const std::string json = ByteBpeDir() + "/tokenizer.json";
  ASSERT_FALSE(HasFailure());
  auto tokenizer = Tokenizer::Load(json, TokenIds::kByteBpe);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  ExpectSamePairs(**tokenizer, json, /*token_types=*/false);
}

// XLM-R's pairs: <s> a </s></s> b </s>. A pair with a text whose two
// segmentations score the same (see ExpectSameIds) is left out.
TEST_F(TokenizerOracleTest, SentencePieceWithXlmRobertasIdsPairsGiveTheLibrarysIds) {
  const std::string converted = SentencePieceModel();
  ASSERT_FALSE(HasFailure());
  auto tokenizer = Tokenizer::Load(*dir_ + "/spm.model", TokenIds::kFairseq);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
  std::vector<std::string> texts;
  {
    std::ofstream out(*dir_ + "/pair-texts.jsonl", std::ios::binary);
    for (const auto& [a, b] : *pairs_) {
      texts.insert(texts.end(), {a, b});
      out << JsonLine(a) << JsonLine(b);
    }
  }
  const std::vector<double> scores = Scores(converted);
  std::vector<bool> tied;
  ExpectSameIds(**tokenizer, Reference(converted, *dir_ + "/pair-texts.jsonl"), &scores, &texts, &tied);
  std::vector<bool> skip(pairs_->size());
  for (size_t i = 0; i < skip.size(); ++i) skip[i] = tied[2 * i] || tied[2 * i + 1];
  ExpectSamePairs(**tokenizer, converted, /*token_types=*/false, &skip);
}

}  // namespace
}  // namespace polysweep
