// polysweep_ingest_load: the coordinator's ingest path under load, for
// `bench/run ingest`. A real Coordinator (ROUTER socket, SQLite journal in
// WAL mode, scheduler) runs `--clients` trials through a launcher that starts
// nothing; one simulated rank 0 per trial reports through the rank's own
// reporter (worker/reporter.h: its own ZeroMQ connection and sender thread,
// one message in flight, the reports that queued meanwhile sent together in
// the next). One thread queues `--reports` Progress reports per rank at
// `--rate` reports per second from all ranks together (0: all at once, to
// find the most the coordinator takes), each at its due time. The
// coordinator acknowledges only after the reports are committed to the
// journal. A report's latency runs from its due time to its
// acknowledgement. Prints one JSON object: reports, seconds, reports per
// second, messages, latency percentiles, and the rows the journal holds
// afterwards (every report, exactly once).
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

#include "cli/config_names.h"
#include "common/config.h"
#include "common/manifest.h"
#include "common/wire.h"
#include "tests/common/running_coordinator.h"
#include "worker/reporter.h"

using namespace polysweep;
using SteadyClock = std::chrono::steady_clock;

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


struct Load {
  int clients = 0;
  int reports = 0;  // per rank
  double rate = 0;  // all ranks together; 0: all due at the start
  std::string endpoint;
  // Report i is rank i % clients's step i / clients + 1.
  SteadyClock::time_point Due(SteadyClock::time_point start, int64_t i) const {
    return rate > 0 ? start + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(i / rate))
                    : start;
  }
  int64_t total() const { return static_cast<int64_t>(clients) * reports; }
};

struct LoadResult {
  std::vector<std::vector<double>> latencies;  // per rank, ms from due to acknowledged
  int64_t messages = 0;
  int failures = 0;
  double seconds = 0;
};

wire::Progress Report(int64_t step, int reports) {
  wire::Progress p;
  p.set_step(step);
  p.set_loss(1.0 / static_cast<double>(step));
  p.set_lr(1e-3);
  p.set_samples_per_sec(1000);
  p.set_samples(step * 32);
  p.set_max_steps(reports);
  p.set_position("0:" + std::to_string(step * 32));
  return p;
}

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Sleeps of at least this long: a due report waits for the next wake-up
// (and its latency counts the wait) rather than the generator waking for
// every report.
constexpr auto kTick = std::chrono::microseconds(250);

LoadResult DriveReporters(const Load& load) {
  LoadResult r;
  r.latencies.resize(load.clients);
  zmq::context_t ctx(2);
  Logger log("ingest-load");
  std::vector<std::unique_ptr<CoordinatorClient>> ranks;
  std::vector<std::vector<SteadyClock::time_point>> due(load.clients, std::vector<SteadyClock::time_point>(load.reports));
  std::atomic<int64_t> messages{0};
  for (int c = 0; c < load.clients; ++c) {
    ranks.push_back(std::make_unique<CoordinatorClient>(
        ctx, load.endpoint, TrialIdentity{"ingest", static_cast<uint64_t>(c + 1), 1, 0}, std::nullopt,
        std::chrono::seconds(60), log));
    r.latencies[c].reserve(load.reports);
    ranks.back()->set_on_delivered([&, c](const wire::Envelope& env) {  // on rank c's sender thread only
      const auto now = SteadyClock::now();
      ++messages;
      if (env.has_progress()) r.latencies[c].push_back(Ms(now - due[c][env.progress().step() - 1]));
      for (const auto& p : env.progress_batch().reports()) r.latencies[c].push_back(Ms(now - due[c][p.step() - 1]));
    });
  }
  const auto start = SteadyClock::now();
  for (int64_t i = 0; i < load.total(); ++i) {
    const int c = static_cast<int>(i % load.clients);
    const int64_t step = i / load.clients + 1;
    const auto when = load.Due(start, i);
    if (when > SteadyClock::now()) std::this_thread::sleep_until(std::max(when, SteadyClock::now() + kTick));
    due[c][step - 1] = when;
    if (!ranks[c]->Progress(Report(step, load.reports)).ok()) ++r.failures;
  }
  for (auto& rank : ranks) {  // each End waits until its rank's reports are acknowledged
    wire::TrialEnd end;
    end.set_steps(load.reports);
    if (!rank->End(end).ok()) ++r.failures;
  }
  r.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  ranks.clear();
  r.messages = messages.load() - load.clients;  // less the ends
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"polysweep_ingest_load: progress reports from simulated ranks into a real coordinator"};
  int clients = 32, reports = 2000;
  double rate = 0;
  std::string dir, bind = "tcp://127.0.0.1:*";
  app.add_option("--bind", bind, "where the coordinator listens (tcp://127.0.0.1:*, or ipc://PATH)");
  app.add_option("--clients", clients, "simulated trials, one reporting rank each")->check(CLI::Range(1, 4096));
  app.add_option("--reports", reports, "reports per rank")->check(CLI::Range(1, 10000000));
  app.add_option("--rate", rate, "reports per second from all ranks together (0: all at once)")->check(CLI::NonNegativeNumber);
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
  auto config = ParseSweepConfig(yaml, "ingest.yaml", RegisteredConfigNames());
  if (!config.ok()) return std::cerr << config.status().message() << "\n", 2;
  Manifest manifest;
  manifest.labels = {"a", "b"};
  manifest.languages = {"de"};
  manifest.counts["de"] = {1000, 100, 100};
  auto coordinator = testing_util::RunningCoordinator::Start(*config, manifest, dir + "/journal.db");
  if (!coordinator.ok()) return std::cerr << coordinator.status().message() << "\n", 2;
  (*coordinator)->WaitLaunched(clients, std::chrono::hours(1));

  Load load{clients, reports, rate, (*coordinator)->endpoint()};
  const LoadResult result = DriveReporters(load);
  const Status run_status = (*coordinator)->Stop();

  std::vector<double> all;
  for (const auto& l : result.latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(q * all.size()))]; };
  const int64_t total = static_cast<int64_t>(clients) * reports;
  nlohmann::json out = {{"clients", clients},        {"reports", total},
                        {"rate", rate},
                        {"messages", result.messages}, {"seconds", result.seconds},
                        {"per_second", total / result.seconds},
                        {"p50_ms", pct(0.50)},       {"p99_ms", pct(0.99)},
                        {"max_ms", all.empty() ? 0.0 : all.back()},
                        {"failures", result.failures}, {"stored", StoredReports(dir + "/journal.db")}};
  std::cout << out.dump() << "\n";
  return result.failures == 0 && run_status.ok() ? 0 : 1;
}
