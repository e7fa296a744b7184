// Reading a dataset's files into rows: JSONL and TSV line by line (parsed
// on all cores), CoNLL column files sentence by sentence
// (dataprep/conll.h); each row checked against the data config (language,
// label or tags) and given its split and order. Part of `polysweep shard`
// (dataprep/sharder.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/example.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/progress.h"
#include "common/status.h"

namespace polysweep {

struct Row {
  Example ex;
  uint64_t order;  // a hash: the deterministic order used for capping and sampling
  Split split;
};

// Progress of a sharding step: redrawn in place on a terminal, plain lines
// in a log.
inline ProgressOptions ProgressFor(const std::string& unit, double scale) {
  ProgressOptions o;
  o.unit = unit;
  o.unit_scale = scale;
  o.terminal = StderrIsTerminal();
  return o;
}

// Runs fn(i) for i in [0, n) on `threads` threads.
template <typename Fn>
void ParallelFor(size_t n, int threads, Fn fn) {
  if (threads <= 1 || n < 64) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < n; i += static_cast<size_t>(threads)) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

// Every data file with the split its rows all go to: data.train, data.valid
// and data.test name theirs; data.files' rows are split by row.
std::vector<std::pair<std::string, std::optional<Split>>> DataFiles(const DataConfig& c);

// Reads and validates every example of every file into `rows`, counting
// the bad lines skipped in `bad` and the bytes read in `bytes`.
Status ReadRows(const DataConfig& config, int threads, std::vector<Row>* rows, int64_t* bad, int64_t* bytes,
                const Logger& log);

}  // namespace polysweep
