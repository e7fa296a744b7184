// The data manifest: what `polysweep shard` produced. Written last and
// atomically, so its presence means every shard it lists is complete.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/tagged.h"
#include "common/token_ids.h"

namespace polysweep {

enum Split { kTrain = 0, kValid = 1, kTest = 2 };
const char* SplitName(Split s);
// train, valid or test; also "validation" and "dev" for valid, as published
// datasets name it.
StatusOr<Split> ParseSplit(const std::string& name);

struct ShardEntry {
  Split split = kTrain;
  std::string language;
  std::string file;      // relative to the manifest's directory
  int64_t examples = 0;
  int64_t tokens = 0;
  int64_t bytes = 0;
  std::string checksum;  // hex FNV-1a 64 of the file
};

struct Manifest {
  int version = 1;
  std::string fingerprint;  // of the inputs and the data config: unchanged -> no work
  std::vector<std::string> labels;
  std::vector<std::string> languages;
  std::map<std::string, std::array<int64_t, 3>> counts;  // language -> per split
  std::string tokenizer_file;  // relative
  std::string tokenizer_hash;
  int vocab_size = 0;
  // The id masked_lm masks tokens with: the tokenizer's <pad> piece, which
  // encoded text never holds (batches pad with any id, under the attention
  // mask); -1: the tokenizer has none.
  int mask_id = -1;
  TokenIds token_ids = TokenIds::kSentencePiece;  // how the shards' ids number the tokenizer's pieces
  int64_t bad_lines = 0;
  int64_t input_bytes = 0;
  // Token classification: the scheme of the tags (the labels), as the data
  // were read (common/tagged.h: none, iob1, iob2, bioes; never auto);
  // kAuto: not tagged data.
  TagScheme tag_scheme = TagScheme::kAuto;
  // Regression: each example's label is a number (its float32's bits), and
  // `labels` is empty.
  bool real_labels = false;
  // Multi-label: each example's label span is the ids of its labels (any
  // number, sorted).
  bool multi_label = false;
  std::vector<ShardEntry> shards;

  int64_t split_size(Split s) const;
  // Examples per language (in `languages` order) of one split.
  std::vector<int64_t> language_sizes(Split s) const;
  // The shard of (split, language), or nullptr.
  const ShardEntry* Find(Split s, const std::string& language) const;
};

std::string ManifestToJson(const Manifest& m);
// `where` names the file in messages.
StatusOr<Manifest> ParseManifest(const std::string& json, const std::string& where);
StatusOr<Manifest> LoadManifest(const std::string& path);

}  // namespace polysweep
