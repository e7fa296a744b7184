#include "worker/comm/mpi_communicator.h"

#include <mpi.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "worker/comm/mpi_runtime.h"

namespace polysweep {

MpiRuntime::MpiRuntime(int* argc, char*** argv) {
  MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &thread_level_);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  // The CPUs this job's ranks on this host may run on: the union of their
  // affinity masks (the launcher may have bound each rank to a few).
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (sched_getaffinity(0, sizeof mine, &mine) != 0) CPU_SET(0, &mine);
  constexpr int kWords = sizeof(cpu_set_t) / sizeof(uint64_t);
  uint64_t words[kWords];
  std::memcpy(words, &mine, sizeof words);
  MPI_Allreduce(MPI_IN_PLACE, words, kWords, MPI_UINT64_T, MPI_BOR, local);
  cpu_set_t all;
  std::memcpy(&all, words, sizeof words);
  local_cpus_ = std::max(1, CPU_COUNT(&all));
  MPI_Comm_free(&local);
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(name, &len);
  host_.assign(name, static_cast<size_t>(len));
}

MpiRuntime::~MpiRuntime() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::string MpiRuntime::Broadcast(const std::string& text) const {
  constexpr size_t kMax = 65536;
  std::string buffer(sizeof(uint32_t) + kMax, '\0');
  if (rank_ == 0) {
    const uint32_t n = static_cast<uint32_t>(std::min(text.size(), kMax));
    std::memcpy(buffer.data(), &n, sizeof n);
    std::memcpy(buffer.data() + sizeof n, text.data(), n);
  }
  // Open MPI's blocking collectives poll: a non-blocking one tested every
  // few milliseconds leaves the core to others while rank 0 decides.
  MPI_Request request;
  MPI_Ibcast(buffer.data(), static_cast<int>(buffer.size()), MPI_BYTE, 0, MPI_COMM_WORLD, &request);
  int done = 0;
  while (true) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  uint32_t n = 0;
  std::memcpy(&n, buffer.data(), sizeof n);
  return buffer.substr(sizeof n, std::min<size_t>(n, kMax));
}

void MpiRuntime::Abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();
}

namespace {

using Clock = std::chrono::steady_clock;

// The MPI type of an all-reduce's elements.
MPI_Datatype MpiType(DType dtype) { return dtype == DType::kInt64 ? MPI_INT64_T : MPI_FLOAT; }

std::string AllReduceWhat(size_t count, DType dtype) {
  return "all-reduce of " + std::to_string(count) + " " + DTypePlural(dtype);
}

std::string MpiErrorText(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return std::string(text, static_cast<size_t>(len));
}

// One collective, queued for the progress thread.
struct Op {
  enum Kind { kAllReduce, kBroadcast, kBarrier } kind;
  char* data = nullptr;
  size_t bytes = 0;
  DType dtype = DType::kFloat32;  // an all-reduce's elements
  int root = 0;
  std::string what;  // "all-reduce of 1000 floats", for messages
  Clock::time_point deadline;
  std::atomic<bool> done{false};
  Status status;  // set before done
};

class MpiCommunicator;

class MpiWork : public CommWork {
 public:
  MpiWork(MpiCommunicator* comm, std::shared_ptr<Op> op) : comm_(comm), op_(std::move(op)) {}
  ~MpiWork() override {
    if (op_) (void)Wait();
  }
  Status Wait() override;

 private:
  MpiCommunicator* comm_;
  std::shared_ptr<Op> op_;
};

class MpiCommunicator : public Communicator {
 public:
  // Collectives up to this size run on the thread that waits for them, when
  // nothing runs before them.
  static constexpr size_t kInlineBytes = 1u << 20;

  explicit MpiCommunicator(const CommOptions& options) : options_(options) {
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    thread_ = std::thread([this] { Progress(); });
  }
  ~MpiCommunicator() override {
    bool broken;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      broken = !broken_.empty();
    }
    work_cv_.notify_all();
    if (broken) {
      // Its thread may be inside a collective no peer will join: leave both be.
      thread_.detach();
      return;
    }
    thread_.join();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }
  bool device_memory() const override { return false; }

  std::unique_ptr<CommWork> StartAllReduce(void* data, size_t count, DType dtype) override {
    return Start(Op::kAllReduce, data, count * DTypeBytes(dtype), 0, AllReduceWhat(count, dtype), dtype);
  }
  // Small, and nothing queued or running: on this thread at once. Else
  // queued behind the rest, and waited for.
  Status AllReduce(void* data, size_t count, DType dtype) override {
    const size_t bytes = count * DTypeBytes(dtype);
    if (size_ > 1 && bytes <= kInlineBytes) {
      std::unique_lock<std::mutex> lock(mu_);
      if (!busy_ && queued_.empty() && broken_.empty()) {
        busy_ = true;
        lock.unlock();
        Op op;
        op.kind = Op::kAllReduce;
        op.data = static_cast<char*>(data);
        op.bytes = bytes;
        op.dtype = dtype;
        op.what = AllReduceWhat(count, dtype);
        op.deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(options_.timeout_seconds * 1e6));
        Status s = RunHere(op);
        lock.lock();
        busy_ = false;
        if (!s.ok() && broken_.empty()) broken_ = s.message();
        work_cv_.notify_one();
        return s;
      }
    }
    return StartAllReduce(data, count, dtype)->Wait();
  }
  std::unique_ptr<CommWork> StartBroadcast(void* data, size_t bytes, int root) override {
    return Start(Op::kBroadcast, data, bytes, root,
                 "broadcast of " + std::to_string(bytes) + " bytes from rank " + std::to_string(root));
  }
  std::unique_ptr<CommWork> StartBarrier() override { return Start(Op::kBarrier, nullptr, 0, 0, "barrier"); }

  // A small collective still queued when its waiter comes runs on the
  // waiter's thread (no hand-off to the progress thread and back: a few
  // microseconds instead of tens). Otherwise spins briefly, then sleeps until
  // the op completes or its deadline passes.
  Status WaitFor(const std::shared_ptr<Op>& shared) {
    Op& op = *shared;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!busy_ && broken_.empty() && !queued_.empty() && queued_.front() == shared && op.bytes <= kInlineBytes) {
        queued_.pop_front();
        busy_ = true;
        lock.unlock();
        Status s = RunHere(op);
        lock.lock();
        busy_ = false;
        if (!s.ok() && broken_.empty()) broken_ = s.message();
        Complete(op, s);
        work_cv_.notify_one();
        return s;
      }
    }
    const auto spin_until = Clock::now() + std::chrono::microseconds(200);
    while (!op.done.load(std::memory_order_acquire) && Clock::now() < spin_until) std::this_thread::yield();
    std::unique_lock<std::mutex> lock(mu_);
    if (!done_cv_.wait_until(lock, op.deadline, [&] { return op.done.load(std::memory_order_acquire); })) {
      if (broken_.empty()) {
        broken_ = "not complete after " + std::to_string(static_cast<int64_t>(options_.timeout_seconds)) +
                  " s (trial.collective_timeout_seconds): a peer rank is gone or stuck";
      }
      return Status::DeadlineExceeded(op.what + " failed: " + broken_);
    }
    return op.status;
  }

 private:
  std::unique_ptr<CommWork> Start(Op::Kind kind, void* data, size_t bytes, int root, std::string what,
                                  DType dtype = DType::kFloat32) {
    if (size_ == 1 && kind != Op::kBarrier) return CompletedWork();
    auto op = std::make_shared<Op>();
    op->kind = kind;
    op->data = static_cast<char*>(data);
    op->bytes = bytes;
    op->dtype = dtype;
    op->root = root;
    op->what = std::move(what);
    op->deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(options_.timeout_seconds * 1e6));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!broken_.empty()) return CompletedWork(Status::Error(op->what + " not started: " + broken_));
      queued_.push_back(op);
    }
    work_cv_.notify_one();
    return std::make_unique<MpiWork>(this, std::move(op));
  }

  // Runs a small `op` as one non-blocking MPI call tested until it completes
  // or its deadline passes. Every rank must make the same kind of call (a
  // blocking collective does not match a non-blocking one): the kind follows
  // from the size alone, whichever thread runs it.
  Status RunHere(const Op& op) {
    MPI_Request request;
    int rc;
    switch (op.kind) {
      case Op::kBarrier: rc = MPI_Ibarrier(comm_, &request); break;
      case Op::kAllReduce:
        rc = MPI_Iallreduce(MPI_IN_PLACE, op.data, static_cast<int>(op.bytes / DTypeBytes(op.dtype)),
                            MpiType(op.dtype), MPI_SUM, comm_, &request);
        break;
      default: rc = MPI_Ibcast(op.data, static_cast<int>(op.bytes), MPI_BYTE, op.root, comm_, &request);
    }
    if (rc != MPI_SUCCESS) return Status::Error(op.what + ": " + MpiErrorText(rc));
    const auto spin_until = Clock::now() + std::chrono::milliseconds(1);
    for (int done = 0;;) {
      rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) return Status::Error(op.what + ": " + MpiErrorText(rc));
      if (done) return Status::Ok();
      const auto now = Clock::now();
      if (now > op.deadline) {
        return Status::DeadlineExceeded(op.what + " failed: not complete after " +
                             std::to_string(static_cast<int64_t>(options_.timeout_seconds)) +
                             " s (trial.collective_timeout_seconds): a peer rank is gone or stuck");
      }
      if (now > spin_until) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  // Runs `op` to completion: small ones as RunHere does, large ones in chunks of kMpiChunkBytes (blocking MPI calls:
  // Open MPI's tuned blocking collectives move large buffers 1.5-2x faster
  // than its non-blocking ones).
  Status Run(const Op& op) {
    if (op.kind == Op::kBarrier || op.bytes <= kInlineBytes) return RunHere(op);
    for (size_t at = 0; at < op.bytes; at += kMpiChunkBytes) {
      const size_t n = std::min(kMpiChunkBytes, op.bytes - at);
      int rc = op.kind == Op::kAllReduce
                   ? MPI_Allreduce(MPI_IN_PLACE, op.data + at, static_cast<int>(n / DTypeBytes(op.dtype)),
                                   MpiType(op.dtype), MPI_SUM, comm_)
                   : MPI_Bcast(op.data + at, static_cast<int>(n), MPI_BYTE, op.root, comm_);
      if (rc != MPI_SUCCESS) return Status::Error(op.what + ": " + MpiErrorText(rc));
    }
    return Status::Ok();
  }

  void Progress() {
    while (true) {
      std::shared_ptr<Op> op;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return stop_ || (!queued_.empty() && !busy_); });
        if (queued_.empty() || !broken_.empty()) {
          for (auto& q : queued_) Complete(*q, Status::Error(q->what + " not started: " + broken_));
          queued_.clear();
          return;
        }
        op = std::move(queued_.front());
        queued_.pop_front();
        busy_ = true;
      }
      Status s = Run(*op);
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
      if (!s.ok() && broken_.empty()) broken_ = s.message();
      Complete(*op, s);
    }
  }

  // Under mu_.
  void Complete(Op& op, Status status) {
    op.status = std::move(status);
    op.done.store(true, std::memory_order_release);
    done_cv_.notify_all();
  }

  CommOptions options_;
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<std::shared_ptr<Op>> queued_;
  bool stop_ = false;
  bool busy_ = false;   // a collective is running (on the progress thread or a waiter's)
  std::string broken_;  // why the communicator is broken; empty while it works
};

Status MpiWork::Wait() {
  if (!op_) return Status::Error("collective already waited for");
  Status s = comm_->WaitFor(op_);
  op_.reset();
  return s;
}

}  // namespace

StatusOr<std::unique_ptr<Communicator>> MakeMpiCommunicator(MpiRuntime& mpi, const CommOptions& options) {
  if (mpi.thread_level() < MPI_THREAD_MULTIPLE) {
    return Status::Error("the MPI library provides thread level " + std::to_string(mpi.thread_level()) +
                         ", and the MPI backend needs MPI_THREAD_MULTIPLE");
  }
  return std::unique_ptr<Communicator>(new MpiCommunicator(options));
}

}  // namespace polysweep
