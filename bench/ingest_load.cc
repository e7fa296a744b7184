// polysweep_ingest_load: the coordinator's ingest path under load, for
// `bench/run ingest`. A real Coordinator (ROUTER socket, SQLite journal in
// WAL mode, scheduler) runs `--clients` trials through a launcher that starts
// nothing; one simulated rank 0 per trial, each with its own ZeroMQ
// connection, sends `--reports` Progress reports one after another and waits
// for each acknowledgement (as a real rank does: the coordinator acknowledges
// only after the report is committed to the journal). Prints one JSON object:
// reports, seconds, reports per second, acknowledgement latency percentiles,
// and the rows the journal holds afterwards (every report, exactly once).
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/config.h"
#include "common/manifest.h"
#include "common/wire.h"
#include "coordinator/coordinator.h"
#include "coordinator/journal.h"
#include "coordinator/searcher.h"
#include "tests/common/fake_launcher.h"

using namespace polysweep;
using Clock = std::chrono::steady_clock;

namespace {

int64_t StoredReports(const std::string& path) {
  sqlite3* db = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM progress", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"polysweep_ingest_load: progress reports from simulated ranks into a real coordinator"};
  int clients = 32, reports = 2000;
  std::string dir, bind = "tcp://127.0.0.1:*";
  app.add_option("--bind", bind, "where the coordinator listens (tcp://127.0.0.1:*, or ipc://PATH)");
  app.add_option("--clients", clients, "simulated trials, one reporting rank each")->check(CLI::Range(1, 4096));
  app.add_option("--reports", reports, "reports per rank")->check(CLI::Range(1, 10000000));
  app.add_option("--dir", dir, "an empty directory for the journal")->required();
  CLI11_PARSE(app, argc, argv);

  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/data.jsonl") << "{}\n";  // the config must name a file; nothing reads it
  const std::string yaml = "name: ingest\noutput_dir: " + dir + "\ndata: {files: [" + dir + "/data.jsonl]}\n" +
                           "bind: \"" + bind + "\"\n" +
                           "max_concurrent: " + std::to_string(clients) + "\n" +
                           "trial: {ranks: 1, hang_timeout_seconds: 100000, start_timeout_seconds: 100000}\n"
                           "search: {space: {lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}}}\n"
                           "budget: {max_trials: " + std::to_string(clients) + ", max_steps: " +
                           std::to_string(reports) + ", log_every: 1}\n"
                           "security: {curve: off}\n";
  auto config = ParseSweepConfig(yaml, "ingest.yaml");
  if (!config.ok()) return std::cerr << config.status().message() << "\n", 2;
  Manifest manifest;
  manifest.labels = {"a", "b"};
  manifest.languages = {"de"};
  manifest.counts["de"] = {1000, 100, 100};
  auto journal = Journal::Create(dir + "/journal.db", *config);
  if (!journal.ok()) return std::cerr << journal.status().message() << "\n", 2;
  auto searcher = MakeSearcher(config->search, clients);
  if (!searcher.ok()) return std::cerr << searcher.status().message() << "\n", 2;
  testing_util::FakeLauncher launcher;
  std::atomic<bool> stop{false};
  CoordinatorOptions options;
  options.worker_binary = "polysweep-worker";
  options.stop = &stop;
  options.poll_interval_ms = 20;
  Coordinator coordinator(*config, manifest, journal->get(), &launcher, searcher->get(), options);
  if (Status s = coordinator.Bind(); !s.ok()) return std::cerr << s.message() << "\n", 2;
  Status run_status;
  std::thread run([&] { run_status = coordinator.Run(); });
  while (launcher.launched < clients) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  zmq::context_t ctx(2);
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<int> failures{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> ranks;
  for (int c = 0; c < clients; ++c) {
    ranks.emplace_back([&, c] {
      RequestClient client(ctx, coordinator.endpoint());
      latencies[c].reserve(reports);
      ++ready;
      while (!go) std::this_thread::yield();
      for (int step = 1; step <= reports; ++step) {
        wire::Envelope env;
        env.set_sweep("ingest");
        env.set_trial(static_cast<uint64_t>(c + 1));
        env.set_attempt(1);
        env.set_rank(0);
        auto* p = env.mutable_progress();
        p->set_step(step);
        p->set_loss(1.0 / step);
        p->set_lr(1e-3);
        p->set_samples_per_sec(1000);
        p->set_samples(step * 32);
        p->set_max_steps(reports);
        p->set_position("0:" + std::to_string(step * 32));
        const auto t0 = Clock::now();
        auto reply = client.Call(std::move(env), std::chrono::milliseconds(10000));
        latencies[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!reply.ok() || !reply->has_ack()) ++failures;
      }
    });
  }
  while (ready < clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = Clock::now();
  go = true;
  for (auto& t : ranks) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  run.join();

  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(q * all.size()))]; };
  const int64_t total = static_cast<int64_t>(clients) * reports;
  nlohmann::json out = {{"clients", clients},        {"reports", total},
                        {"seconds", seconds},        {"per_second", total / seconds},
                        {"p50_ms", pct(0.50)},       {"p99_ms", pct(0.99)},
                        {"max_ms", all.empty() ? 0.0 : all.back()},
                        {"failures", failures.load()}, {"stored", StoredReports(dir + "/journal.db")}};
  std::cout << out.dump() << "\n";
  return failures == 0 && run_status.ok() ? 0 : 1;
}
