#include "common/shard_set.h"

#include <algorithm>

namespace polysweep {

StatusOr<std::unique_ptr<ShardSet>> ShardSet::Open(const Manifest& manifest, const std::string& dir, Split split,
                                                   bool verify) {
  std::unique_ptr<ShardSet> set(new ShardSet());
  for (const std::string& lang : manifest.languages) {
    const ShardEntry* e = manifest.Find(split, lang);
    std::unique_ptr<MappedShard> shard;
    if (e) {
      auto s = MappedShard::Open(dir + "/" + e->file, verify ? e->checksum : "");
      if (!s.ok()) return s.status();
      if (static_cast<int64_t>((*s)->size()) != e->examples) {
        return Status::Error(dir + "/" + e->file + ": has " + std::to_string((*s)->size()) +
                             " examples, the manifest says " + std::to_string(e->examples));
      }
      shard = std::move(*s);
    }
    const int64_t n = shard ? static_cast<int64_t>(shard->size()) : 0;
    set->shards_.push_back(std::move(shard));
    set->sizes_.push_back(n);
    set->bases_.push_back(set->bases_.back() + n);
  }
  return set;
}

ExampleView ShardSet::Get(int64_t index) const {
  // The language block holding `index`: the last base <= index.
  const size_t l = static_cast<size_t>(std::upper_bound(bases_.begin(), bases_.end(), index) - bases_.begin()) - 1;
  const MappedShard& s = *shards_[l];
  const uint64_t i = static_cast<uint64_t>(index - bases_[l]);
  return ExampleView{s.tokens(i), s.length(i), s.label(i),      s.lang(i),
                     s.labels(i), s.pair_start(i), s.features(i), s.feature_width()};
}

}  // namespace polysweep
