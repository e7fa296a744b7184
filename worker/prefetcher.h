// Builds the next batches on its own thread while the current step computes,
// so a step never waits for data. Follows the sampling order from a reader
// position; each item says the position after it (what a checkpoint stores).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/sampling.h"
#include "common/shard_set.h"
#include "worker/batching.h"

namespace polysweep {

class BatchPrefetcher {
 public:
  struct Item {
    Batch batch;
    int64_t global = 0;     // examples the whole step consumes (all ranks)
    ReaderPosition after;   // the reader position once this step is done
  };

  // `source` must outlive the prefetcher. Keeps up to `depth` batches ready.
  BatchPrefetcher(const ExampleSource& source, SamplingPlan plan, ReaderPosition start, int batch, int rank,
                  int world, int pad_id, int max_length, int depth = 2, Targets targets = Targets::kPerText,
                  int classes = 0);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The next step's batch; blocks until it is ready.
  Item Next();

 private:
  void Loop();
  Item Build(const ReaderPosition& pos);

  const ExampleSource& source_;
  SamplingPlan plan_;
  int batch_, rank_, world_, pad_id_, max_length_;
  Targets targets_;
  int classes_;  // of kMultiHot targets
  size_t depth_;
  std::vector<int64_t> order_;
  int64_t order_epoch_ = -1;
  ReaderPosition next_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> ready_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace polysweep
