// polysweep-serve: serves an exported model over HTTP (what `polysweep serve
// MODEL` runs). Listens first (GET /healthz answers, /readyz says 503 while
// the model loads), loads the model, then answers POST /v1/predict with
// dynamically batched predictions. SIGTERM or SIGINT drains: no new
// connections, the requests in flight answered, then exit 0.
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "common/files.h"
#include "serve/batcher.h"
#include "serve/server.h"
#include "worker/quantize_flags.h"
#include "worker/predictor.h"
#include "worker/threads.h"

using namespace polysweep;

namespace {

struct Options {
  std::string dir, port_file, token_file;
  ServeOptions serve;
  BatcherOptions batching;
  int compute_threads = 1;
  QuantizeFlags quantize;
};

void AddOptions(CLI::App& app, Options* o) {
  app.add_option("MODEL", o->dir, "the model directory a sweep exported (<output_dir>/model)")->required();
  app.add_option("--bind", o->serve.bind, "address to listen on (default 127.0.0.1; elsewhere needs --token-file)");
  app.add_option("--port", o->serve.port, "port (default 8080; 0: any free port, see --port-file)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--port-file", o->port_file, "write the port here once listening");
  app.add_option("--token-file", o->token_file,
                 "a file holding the token every request but /healthz and /readyz must carry as "
                 "`Authorization: Bearer TOKEN`");
  app.add_option("--max-batch", o->batching.max_batch, "texts the model runs together (default 32)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--max-wait-ms", o->batching.max_wait_ms,
                 "how long the first text of a batch waits for others (default 5)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--threads", o->batching.threads,
                 "inference threads, each running its own batches (default: one per core)")
      ->check(CLI::Range(1, 256));
  app.add_option("--compute-threads", o->compute_threads,
                 "LibTorch threads per batch (default 1: on a busy server, batches side by side beat one batch "
                 "split across cores)")
      ->check(CLI::Range(1, 1024));
  AddQuantizeFlags(app, &o->quantize);
  app.add_option("--max-queue", o->batching.max_queue, "texts waiting, beyond which requests get 503 (default 1024)")
      ->check(CLI::Range(1, 1 << 24));
  app.add_option("--max-body", o->serve.max_body, "largest request body in bytes (default 1 MiB; over: 413)")
      ->check(CLI::Range(1, 1 << 30));
  app.add_option("--max-texts", o->serve.limits.max_texts, "texts per request (default 256; over: 413)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-text-bytes", o->serve.limits.max_text_bytes, "bytes per text (default 16384; over: 413)")
      ->check(CLI::Range(1, 1 << 30));
  app.add_option("--http-threads", o->serve.http_threads,
                 "connections served at once (default 64; an idle keep-alive connection holds one)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--timeout", o->serve.timeout_s, "seconds to read a request or write a reply (default 10)")
      ->check(CLI::Range(1, 3600));
}

int Fail(const std::string& message) {
  std::cerr << "polysweep serve: " << message << "\n";
  return 1;
}

// The token in `path`, without surrounding whitespace; errors name the file.
StatusOr<std::string> ReadToken(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::string token = *text;
  token.erase(0, token.find_first_not_of(" \t\r\n"));
  token.erase(token.find_last_not_of(" \t\r\n") + 1);
  if (token.size() < 16) return Status::InvalidConfig(path + ": the token is shorter than 16 characters");
  if (token.find_first_of(" \t\r\n") != std::string::npos) {
    return Status::InvalidConfig(path + ": the token holds whitespace");
  }
  return token;
}

// The model's answers as the server's: label index and probabilities, a
// multi-label model's labels, or a regression's number.
InferFn ModelInference(Predictor* predictor) {
  return [predictor](const std::vector<std::string>& texts,
                     const std::vector<std::string>& pairs) -> StatusOr<std::vector<TextPrediction>> {
    auto predictions = predictor->Classify(texts, pairs);
    if (!predictions.ok()) return predictions.status();
    std::vector<TextPrediction> out;
    out.reserve(predictions->size());
    for (Prediction& p : *predictions) {
      out.push_back(TextPrediction{p.label, std::move(p.probs), predictor->label_kind(), std::move(p.labels), p.value});
    }
    return out;
  };
}

// The only process-wide state: the pipe the signal handler writes the
// signal's number into (async-signal-safe). Blocking the signals and
// sigwait() would not do: libraries start threads (OpenBLAS's pool) before
// main() could block anything, and the kernel may hand a signal to them.
int g_signal_pipe[2] = {-1, -1};

void OnSignal(int signal) {
  const char c = static_cast<char>(signal);
  [[maybe_unused]] const ssize_t n = write(g_signal_pipe[1], &c, 1);
}

// Waits for SIGTERM or SIGINT and drains; a 0 byte (from main) ends it quietly.
void WaitForSignal(PredictServer* server) {
  char c = 0;
  while (read(g_signal_pipe[0], &c, 1) < 0 && errno == EINTR) {
  }
  if (c == SIGTERM || c == SIGINT) {
    std::cerr << "polysweep serve: " << (c == SIGTERM ? "SIGTERM" : "SIGINT")
              << ": draining (no new connections; answering the requests in flight)\n";
  }
  server->Drain();
}

void EndWaiter(std::thread& waiter) {
  const char c = 0;
  [[maybe_unused]] const ssize_t n = write(g_signal_pipe[1], &c, 1);
  waiter.join();
}

}  // namespace

int main(int argc, char** argv) {
  // Unlike the ranks (worker/allocator.h), a server gives memory back: every
  // block of 1 MB or more is its own mapping, returned when freed (glibc
  // otherwise raises the threshold to the largest block freed, and weights
  // freed by --quantize int8 or a large batch's activations would stay in
  // the heap).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  CLI::App app{"polysweep serve: answer predictions over HTTP with an exported model"};
  Options o;
  AddOptions(app, &o);
  o.batching.threads = 0;  // 0 after parsing: not given
  CLI11_PARSE(app, argc, argv);
  if (o.batching.threads == 0) o.batching.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!o.token_file.empty()) {
    auto token = ReadToken(o.token_file);
    if (!token.ok()) return Fail("--token-file " + token.status().message());
    o.serve.token = *token;
  }
  if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return Fail(std::string("pipe: ") + std::strerror(errno));
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  ServeMetrics metrics(o.batching.max_batch);
  PredictServer server(o.serve, &metrics);
  if (Status s = server.Bind(); !s.ok()) return Fail(s.message());
  std::thread waiter(WaitForSignal, &server);
  Status served;
  std::thread http([&] { served = server.Serve(); });
  if (!o.port_file.empty()) {
    if (Status s = WriteFileAtomic(o.port_file, std::to_string(server.port()) + "\n"); !s.ok()) {
      server.Drain();
      http.join();
      EndWaiter(waiter);
      return Fail("--port-file " + s.message());
    }
  }
  std::cerr << "polysweep serve: listening on http://" << o.serve.bind << ":" << server.port() << "/ (loading "
            << o.dir << ")\n";

  SetComputeThreads(o.compute_threads);
  auto predictor = Predictor::Load(o.dir, o.quantize.options());
  std::unique_ptr<Batcher> batcher;
  int exit_code = 0;
  if (predictor.ok() && (*predictor)->tags_words()) {
    predictor = Status::Error(o.dir + ": a token_classification model tags words, which the server's texts API does "
                              "not return; tag with `polysweep predict`");
  }
  if (predictor.ok()) {
    const ModelPackage& package = (*predictor)->package();
    batcher = std::make_unique<Batcher>(o.batching, ModelInference(predictor->get()), &metrics);
    server.SetModel(ServedModel{package.labels, !package.text_pair_field.empty(), package.sweep, package.trial},
                    batcher.get());
    std::cerr << "polysweep serve: ready: sweep " << package.sweep << " trial " << package.trial << ", "
              << package.labels.size() << " labels" << (package.text_pair_field.empty() ? "" : ", text pairs")
              << "\n";
    if (o.quantize.options().int8) {
      std::cerr << "polysweep serve: " << o.quantize.Summary((*predictor)->int8_layers(), (*predictor)->linear_layers())
              << "\n";
    }
  } else {
    exit_code = Fail(predictor.status().message());
    server.Drain();
  }
  http.join();
  if (batcher) batcher->Stop();
  EndWaiter(waiter);  // when the server stopped on its own
  if (exit_code != 0) return exit_code;
  if (!served.ok()) return Fail(served.message());
  std::cerr << "polysweep serve: drained; " << metrics.batches() << " batches run\n";
  return 0;
}
