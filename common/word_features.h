// Word features for token classification: what a word looks like, beyond
// the pieces the tokenizer cut it into. Each word of a tagged sentence gets
// kWordFeatures hashes (its lowercased form, its first one to three and last
// one to four characters, its shape: `Xxxx`, `dd.dd`, and its sentence's
// language, so that one model keeps each language's tags apart), then the
// context's (the lowercase forms and last three characters of the words
// before and after it), as the hash-embedding taggers of spaCy and the
// averaged perceptron's suffix, shape and context features describe a
// word; every piece of the word carries them, and
// the model (model.word_features) adds their embeddings to the piece's. An
// unseen word with a known ending ("-ungen", "-ly") is then tagged by its
// ending, which a small tagged corpus teaches and its pieces alone do not.
// No LibTorch: the sharder, the tagger and the tests compute them alike.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace polysweep {

// A word's own features (HashWordFeatures), then its neighbours' (the words
// before and after it: their lowercase forms and last three characters, or
// the sentence's edge), as the perceptron's context features describe them.
inline constexpr int kOwnWordFeatures = 10;
inline constexpr int kContextFeatures = 4;
inline constexpr int kWordFeatures = kOwnWordFeatures + kContextFeatures;
// A piece outside any word (the [CLS]/[SEP] frame, padding): no feature.
inline constexpr uint32_t kNoFeature = 0;

using WordFeatureHashes = std::array<uint32_t, kOwnWordFeatures>;

// The word's lowercase (ASCII, Latin-1, Greek and Cyrillic capitals).
std::string LowerWord(std::string_view word);
// The word's shape: capitals X, other letters x, digits d, anything else
// itself, a run of one kind cut at 3 ("Xxxx" for "Paris", "ddd" for "2024").
std::string WordShape(std::string_view word);
// The word's hashes, the same on every machine: never kNoFeature but the
// language's when `lang` is empty (a sentence of no known language).
WordFeatureHashes HashWordFeatures(std::string_view word, std::string_view lang = "");
// The context hashes of word `w` of `words`: the word before's lowercase form
// and last three characters, then the word after's (the sentence's edge when
// there is none).
std::array<uint32_t, kContextFeatures> HashContextFeatures(const std::vector<std::string>& words, size_t w);

// Per piece, kWordFeatures hashes (row-major, kWordFeatures per piece): the
// own hashes of the word piece k belongs to, then its context hashes (`piece_word[k]` indexes `words`; a
// negative index is a piece of no word and gets kNoFeature), in a sentence
// of language `lang`.
std::vector<uint32_t> PieceWordFeatures(const std::vector<std::string>& words, const std::vector<int>& piece_word,
                                        const std::string& lang = "");

}  // namespace polysweep
