#include "worker/prefetcher.h"

namespace polysweep {

BatchPrefetcher::BatchPrefetcher(const ExampleSource& source, SamplingPlan plan, ReaderPosition start, int batch,
                                 int rank, int world, int pad_id, int max_length, int depth, Targets targets, int classes)
    : source_(source), plan_(std::move(plan)), batch_(batch), rank_(rank), world_(world), pad_id_(pad_id),
      max_length_(max_length), targets_(targets), classes_(classes), depth_(static_cast<size_t>(std::max(1, depth))), next_(start) {
  thread_ = std::thread([this] { Loop(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

BatchPrefetcher::Item BatchPrefetcher::Build(const ReaderPosition& pos) {
  if (pos.epoch != order_epoch_) {
    order_ = EpochOrder(plan_.language_sizes, plan_.alpha, plan_.seed, pos.epoch);
    order_epoch_ = pos.epoch;
  }
  const int64_t epoch_size = static_cast<int64_t>(order_.size());
  StepSlice slice = SliceForRank(epoch_size, pos, batch_, rank_, world_);
  std::vector<int64_t> indices(order_.begin() + slice.begin, order_.begin() + slice.end);
  Item item;
  item.batch = MakeBatch(source_, indices, pad_id_, max_length_, targets_, classes_);
  item.global = slice.global;
  item.after = Advance(pos, slice.global, epoch_size);
  return item;
}

void BatchPrefetcher::Loop() {
  while (true) {
    ReaderPosition pos;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || ready_.size() < depth_; });
      if (stop_) return;
      pos = next_;
    }
    Item item = Build(pos);  // outside the lock: this is the work
    {
      std::lock_guard<std::mutex> lock(mu_);
      next_ = item.after;
      ready_.push_back(std::move(item));
    }
    cv_.notify_all();
  }
}

BatchPrefetcher::Item BatchPrefetcher::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !ready_.empty(); });
  Item item = std::move(ready_.front());
  ready_.pop_front();
  lock.unlock();
  cv_.notify_all();
  return item;
}

}  // namespace polysweep
