// polysweep_train_load: the worker's data-parallel engine alone, for
// `bench/run ddp`. Run it under mpirun; every rank prints nothing, rank 0
// prints one JSON object.
//   --mode train: the encoder classifier of the given shape trains on random
//     full-length token batches (DataParallelStep: bucketed, overlapped
//     gradient all-reduce, clipping, AdamW). Reports samples/s over the
//     measured steps and the peak RSS of the largest rank. With --hf DIR the
//     model is that Hugging Face checkpoint's (its config.json's shape, its
//     weights loaded on rank 0 and broadcast, a fresh head), and with
//     --batches FILE the batches are read from FILE: int64 token ids
//     [8, ranks, batch, length] then int64 labels [8, ranks, batch], this
//     rank's slice of each (the peer reads the same file).
//   --mode sync: a parameter set of the given shapes (`--shapes bert-base` or
//     `--shapes small:N`, N tensors of 64 floats) whose backward writes every
//     gradient, timed with and without the gradient sync; then the same bytes
//     through one flat MPI_Allreduce, 4 MB-chunked MPI_Allreduce, and one
//     MPI_Allreduce per tensor, and one communicator all-reduce per tensor
//     (the peers), each timed from a barrier right after the same backward.
//     Reports milliseconds per sync.
#include <mpi.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>

#include "common/hf_checkpoint.h"
#include "common/files.h"
#include "worker/allocator.h"
#include "worker/hf_model.h"
#include "worker/comm/communicator.h"
#include "worker/comm/mpi_runtime.h"
#include "worker/train_step.h"

using namespace polysweep;
using Clock = std::chrono::steady_clock;

namespace {

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

double MaxOverRanks(double v) {
  double out = v;
  MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

// BERT-base's parameter shapes (110M floats): embeddings, 12 layers, pooler.
std::vector<std::vector<int64_t>> BertBaseShapes() {
  const int64_t h = 768, f = 3072;
  std::vector<std::vector<int64_t>> s = {{30522, h}, {512, h}, {2, h}, {h}, {h}};
  for (int l = 0; l < 12; ++l) {
    for (int q = 0; q < 4; ++q) {
      s.push_back({h, h});
      s.push_back({h});
    }
    s.insert(s.end(), {{h}, {h}, {f, h}, {f}, {h, f}, {h}, {h}, {h}});
  }
  s.insert(s.end(), {{h, h}, {h}});
  return s;
}

struct Options {
  std::string mode = "train";
  int layers = 2, hidden = 128, heads = 4, ffn = 256, vocab = 8000, length = 64, batch = 32, classes = 14;
  int steps = 30, warmup = 5, threads = 1;
  double bucket_mb = 25, first_bucket_mb = 1;
  bool no_overlap = false;
  std::string shapes = "bert-base";
  int repeats = 5;
  std::string hf_dir, batches_file;
};

// The 8 batches this rank trains on: random, or its slice of --batches.
std::vector<Batch> MakeBatches(const Options& o, int rank, int world) {
  std::vector<Batch> batches;
  std::string bytes;
  if (!o.batches_file.empty()) {
    auto read = ReadFile(o.batches_file);
    const size_t want = sizeof(int64_t) * 8 * static_cast<size_t>(world * o.batch) * (o.length + 1);
    if (!read.ok() || read->size() != want) throw std::runtime_error(o.batches_file + ": not the batches' size");
    bytes = std::move(*read);
  }
  torch::manual_seed(static_cast<uint64_t>(rank) + 100);
  for (int64_t i = 0; i < 8; ++i) {
    Batch b;
    b.pad = torch::zeros({o.batch, o.length}, torch::kBool);
    if (bytes.empty()) {
      b.ids = torch::randint(4, o.vocab, {o.batch, o.length}, torch::kLong);
      b.labels = torch::randint(0, o.classes, {o.batch}, torch::kLong);
    } else {
      auto* all = reinterpret_cast<int64_t*>(bytes.data());
      const int64_t per_rank = static_cast<int64_t>(o.batch) * o.length;
      const int64_t* ids = all + (i * world + rank) * per_rank;
      const int64_t* labels = all + 8 * world * per_rank + (i * world + rank) * o.batch;
      b.ids = torch::from_blob(const_cast<int64_t*>(ids), {o.batch, o.length}, torch::kLong).clone();
      b.labels = torch::from_blob(const_cast<int64_t*>(labels), {o.batch}, torch::kLong).clone();
    }
    batches.push_back(std::move(b));
  }
  return batches;
}

// The model's shape: --hf's checkpoint, or the flags'.
ModelShape TrainShape(const Options& o, std::optional<HfCheckpoint>* hf) {
  if (o.hf_dir.empty()) {
    const EncoderDims dims{o.vocab, o.layers, o.hidden, o.heads, o.ffn, o.length};
    return MakeModelShape(dims, TaskKind::kSequenceClassification, o.classes, 0.1);
  }
  auto opened = OpenHfCheckpoint(o.hf_dir);
  if (!opened.ok()) throw std::runtime_error(opened.status().message());
  hf->emplace(std::move(*opened));
  return HfModelShape((*hf)->config, (*hf)->layout, TaskKind::kSequenceClassification, o.classes, -1);
}

BucketOptions Buckets(const Options& o) {
  BucketOptions b;
  b.bucket_bytes = static_cast<size_t>(o.bucket_mb * (1 << 20));
  b.first_bucket_bytes = static_cast<size_t>(o.first_bucket_mb * (1 << 20));
  b.overlap = !o.no_overlap;
  return b;
}

nlohmann::json Train(const Options& o, Communicator* comm) {
  std::optional<HfCheckpoint> hf;
  const ModelShape shape = TrainShape(o, &hf);
  TrainingParams params;
  params.batch_size = o.batch;
  params.grad_clip = 1.0;
  DataParallelStep step(shape, params, comm, Buckets(o));
  if (hf && comm->rank() == 0) {
    Status loaded = LoadHfWeights(step.model(), hf->config, hf->layout, hf->weights);
    if (!loaded.ok()) throw std::runtime_error(loaded.message());
  }
  hf.reset();  // the mapping, as a trial's rank 0 lets it go after the load
  if (!step.Init().ok()) throw std::runtime_error("init failed");
  const std::vector<Batch> batches = MakeBatches(o, comm->rank(), comm->size());
  for (int i = 0; i < o.warmup; ++i) {
    if (!step.Step(batches[static_cast<size_t>(i) % batches.size()], 1e-4).ok()) throw std::runtime_error("step");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const auto t0 = Clock::now();
  const double finish_before = step.sync().finish_seconds();
  for (int i = 0; i < o.steps; ++i) {
    if (!step.Step(batches[static_cast<size_t>(i) % batches.size()], 1e-4).ok()) throw std::runtime_error("step");
  }
  const double seconds = Since(t0);
  return {{"samples_per_sec", o.steps * o.batch * comm->size() / seconds},
          {"step_ms", seconds / o.steps * 1e3},
          {"sync_wait_ms", (step.sync().finish_seconds() - finish_before) / o.steps * 1e3},
          {"parameters", step.sync().numel()},
          {"buckets", step.sync().buckets()},
          {"peak_rss_mb", MaxOverRanks(PeakRssMb())}};
}

nlohmann::json Sync(const Options& o, Communicator* comm) {
  std::vector<std::vector<int64_t>> shapes;
  if (o.shapes == "bert-base") {
    shapes = BertBaseShapes();
  } else if (o.shapes.rfind("small:", 0) == 0) {
    shapes.assign(static_cast<size_t>(std::stoi(o.shapes.substr(6))), {64});
  } else {
    throw std::runtime_error("--shapes: bert-base or small:N");
  }
  std::vector<torch::Tensor> params;
  for (auto& s : shapes) params.push_back(torch::zeros(s).requires_grad_(true));
  // A backward that writes every gradient (d/dp of sum(p) is 1) and little else.
  auto backward = [&] {
    torch::Tensor total = torch::zeros({});
    for (auto& p : params) total = total + p.sum();
    return total;
  };
  // Without overlap: backward (into the flat buffer) and then the whole
  // bucketed sync, timed apart. With overlap: both together.
  double backward_s = 1e9, sync_s = 1e9, overlapped_s = 1e9;
  size_t buckets = 0, numel = 0;
  for (bool overlap : {false, true}) {
    BucketOptions b = Buckets(o);
    b.overlap = overlap;
    GradientSync sync(params, comm, b);
    buckets = sync.buckets();
    numel = sync.numel();
    for (int r = 0; r < o.repeats + 1; ++r) {  // the first run touches the buffers
      MPI_Barrier(MPI_COMM_WORLD);
      const auto t = Clock::now();
      sync.ZeroGrad(comm->size());  // one example per rank: no rescaling pass
      auto loss = backward();
      sync.BeginBackward(0, 1, true);
      loss.backward();
      const double after_backward = Since(t);
      // Without overlap, the sync is timed from a barrier, as the peers are:
      // else it would include the ranks' backward-time skew (waiting for the
      // slower rank's backward is not communication).
      if (!overlap) MPI_Barrier(MPI_COMM_WORLD);
      const auto sync_start = Clock::now();
      if (!sync.Finish().ok()) throw std::runtime_error("sync failed");
      const double total = Since(t), sync_only = Since(sync_start);
      if (r == 0) continue;
      if (overlap) {
        overlapped_s = std::min(overlapped_s, MaxOverRanks(total));
      } else {
        backward_s = std::min(backward_s, MaxOverRanks(after_backward));
        sync_s = std::min(sync_s, MaxOverRanks(sync_only));
      }
    }
  }
  std::vector<float> flat(numel, 1.f);
  // Each peer is timed as the sync is: right after the same backward (its
  // gradients land in the parameters' own buffers), from a barrier. Right
  // after a backward, the same all-reduce takes longer than in a loop of
  // all-reduces alone (caches, the peer's scheduling).
  auto best = [&](auto fn) {
    double b = 1e9;
    for (int r = 0; r < o.repeats; ++r) {
      backward().backward();
      MPI_Barrier(MPI_COMM_WORLD);
      const auto t = Clock::now();
      fn();
      b = std::min(b, MaxOverRanks(Since(t)));
    }
    return b;
  };
  const double flat_ms = best([&] {
    MPI_Allreduce(MPI_IN_PLACE, flat.data(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  });
  const double chunked_ms = best([&] {
    const size_t chunk = (4u << 20) / sizeof(float);
    for (size_t at = 0; at < numel; at += chunk) {
      MPI_Allreduce(MPI_IN_PLACE, flat.data() + at, static_cast<int>(std::min(chunk, numel - at)), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    }
  });
  const double per_tensor_ms = best([&] {
    size_t at = 0;
    for (auto& s : shapes) {
      int64_t n = 1;
      for (int64_t d : s) n *= d;
      MPI_Allreduce(MPI_IN_PLACE, flat.data() + at, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      at += static_cast<size_t>(n);
    }
  });
  // Per-tensor all-reduce through the same communicator, every one started
  // before any is waited for (an engine without buckets).
  std::vector<float> storage(numel, 1.f);
  const double comm_per_tensor_ms = best([&] {
    std::vector<std::unique_ptr<CommWork>> work;
    size_t at = 0;
    for (auto& s : shapes) {
      int64_t n = 1;
      for (int64_t d : s) n *= d;
      work.push_back(comm->StartAllReduceSum(storage.data() + at, static_cast<size_t>(n)));
      at += static_cast<size_t>(n);
    }
    for (auto& w : work) {
      if (!w->Wait().ok()) throw std::runtime_error("per-tensor all-reduce failed");
    }
  });
  // The same bytes as one communicator all-reduce: what the bucketed sync
  // costs beyond the communication itself.
  const double comm_flat_ms = best([&] {
    if (!comm->StartAllReduceSum(storage.data(), numel)->Wait().ok()) throw std::runtime_error("all-reduce failed");
  });
  return {{"tensors", shapes.size()},
          {"comm_flat_ms", comm_flat_ms * 1e3},
          {"comm_per_tensor_ms", comm_per_tensor_ms * 1e3},
          {"floats", numel},
          {"buckets", buckets},
          {"backward_ms", backward_s * 1e3},
          {"sync_ms", sync_s * 1e3},
          {"overlapped_ms", overlapped_s * 1e3},
          {"mpi_flat_ms", flat_ms * 1e3},
          {"mpi_chunked_ms", chunked_ms * 1e3},
          {"mpi_per_tensor_ms", per_tensor_ms * 1e3}};
}

}  // namespace

int main(int argc, char** argv) {
  KeepFreedMemory();  // as the worker does
  MpiRuntime mpi(&argc, &argv);
  Options o;
  CLI::App app{"polysweep_train_load: the data-parallel engine alone, under mpirun"};
  app.add_option("--mode", o.mode, "train | sync")->check(CLI::IsMember({"train", "sync"}));
  app.add_option("--layers", o.layers);
  app.add_option("--hidden", o.hidden);
  app.add_option("--heads", o.heads);
  app.add_option("--ffn", o.ffn);
  app.add_option("--vocab", o.vocab);
  app.add_option("--length", o.length, "tokens per example");
  app.add_option("--batch", o.batch, "examples per rank per step");
  app.add_option("--steps", o.steps, "measured steps");
  app.add_option("--warmup", o.warmup, "steps before measuring");
  app.add_option("--threads", o.threads, "LibTorch threads per rank");
  app.add_option("--bucket-mb", o.bucket_mb);
  app.add_option("--first-bucket-mb", o.first_bucket_mb);
  app.add_flag("--no-overlap", o.no_overlap, "start every bucket after backward");
  app.add_option("--shapes", o.shapes, "sync mode: bert-base | small:N");
  app.add_option("--repeats", o.repeats, "sync mode: runs, the best counts");
  app.add_option("--hf", o.hf_dir, "train mode: a Hugging Face checkpoint directory to train from");
  app.add_option("--batches", o.batches_file, "train mode: the batches, as the peer reads them");
  app.add_option("--classes", o.classes, "train mode: the head's classes");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  torch::set_num_threads(o.threads);
  auto comm = MakeCommunicator("mpi", mpi);
  if (!comm.ok()) {
    std::cerr << comm.status().message() << "\n";
    return 1;
  }
  nlohmann::json out = o.mode == "train" ? Train(o, comm->get()) : Sync(o, comm->get());
  out["ranks"] = mpi.size();
  comm->reset();
  if (mpi.rank() == 0) std::cout << out.dump() << std::endl;
  return 0;
}
