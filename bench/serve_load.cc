// polysweep_serve_load: drives an HTTP prediction server (polysweep serve or
// the benchmark's PyTorch peer) from one process over N keep-alive
// connections, one text per request (`{"texts": [TEXT]}` to /v1/predict),
// and prints one JSON line: requests answered, errors, texts/s, and latency
// percentiles. Closed loop by default (each connection sends its next
// request when the last is answered: saturation); with --rate R, open loop:
// requests are due at R per second in all, spread over the connections, and
// latency counts from when a request was due, so a server that falls behind
// is charged for the wait (no coordinated omission).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 0, connections = 64;
  double seconds = 10, rate = 0, warmup = 2;
  std::string texts_path;
};

struct Tally {
  std::vector<double> latencies;  // seconds, of answers after the warm-up
  int64_t errors = 0;
  std::map<std::string, int64_t> kinds;  // "503", "Connection", ...: what the errors were
};

// One connection's loop until `end`; requests due before `measure_from` are
// not counted.
Tally Drive(const Options& o, const std::vector<std::string>& bodies, int index, Clock::time_point start) {
  httplib::Client client("127.0.0.1", o.port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_read_timeout(60, 0);
  Tally tally;
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto end = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  // Open loop: this connection's requests are due every connections/rate s.
  const double interval = o.rate > 0 ? o.connections / o.rate : 0;
  auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval * index / o.connections));
  size_t next = static_cast<size_t>(index) * 7919;
  while (true) {
    if (o.rate > 0) {
      if (due >= end) break;
      std::this_thread::sleep_until(due);
    } else {
      due = Clock::now();
      if (due >= end) break;
    }
    const std::string& body = bodies[next++ % bodies.size()];
    auto res = client.Post("/v1/predict", body, "application/json");
    const double latency = std::chrono::duration<double>(Clock::now() - due).count();
    if (due >= measure_from) {
      if (!res || res->status != 200) {
        ++tally.errors;
        ++tally.kinds[res ? std::to_string(res->status) : httplib::to_string(res.error())];
      } else {
        tally.latencies.push_back(latency);
      }
    }
    if (o.rate > 0) due += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
  }
  return tally;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"polysweep_serve_load: drive a prediction server over keep-alive connections"};
  Options o;
  app.add_option("--port", o.port, "the server's port on 127.0.0.1")->required();
  app.add_option("--texts", o.texts_path, "JSON lines with a \"text\" field: the requests' texts")->required();
  app.add_option("--connections", o.connections, "connections, each one request at a time");
  app.add_option("--seconds", o.seconds, "seconds measured (after the warm-up)");
  app.add_option("--warmup", o.warmup, "seconds of requests not counted");
  app.add_option("--rate", o.rate, "requests per second in all (0: as fast as answered)");
  CLI11_PARSE(app, argc, argv);
  std::vector<std::string> bodies;
  std::ifstream in(o.texts_path);
  for (std::string line; std::getline(in, line);) {
    const auto row = nlohmann::json::parse(line, nullptr, false);
    if (row.is_object() && row.contains("text")) bodies.push_back(nlohmann::json{{"texts", {row["text"]}}}.dump());
  }
  if (bodies.empty()) {
    std::cerr << o.texts_path << ": no lines with a \"text\"\n";
    return 1;
  }
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  std::vector<Tally> tallies(static_cast<size_t>(o.connections));
  for (int i = 0; i < o.connections; ++i) {
    threads.emplace_back([&, i] { tallies[static_cast<size_t>(i)] = Drive(o, bodies, i, start); });
  }
  for (auto& t : threads) t.join();
  std::vector<double> all;
  int64_t errors = 0;
  std::map<std::string, int64_t> kinds;
  for (auto& t : tallies) {
    all.insert(all.end(), t.latencies.begin(), t.latencies.end());
    errors += t.errors;
    for (const auto& [k, n] : t.kinds) kinds[k] += n;
  }
  const auto answered = static_cast<double>(all.size());
  nlohmann::json out = {{"answered", all.size()}, {"errors", errors}, {"texts_per_s", answered / o.seconds},
                        {"p50_ms", 1000 * Percentile(all, 0.50)}, {"p99_ms", 1000 * Percentile(all, 0.99)},
                        {"error_kinds", kinds}};
  std::cout << out.dump() << "\n";
  return 0;
}
