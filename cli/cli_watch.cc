#include "cli/cli_watch.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "common/checkpoint_manifest.h"
#include "common/config.h"
#include "common/files.h"
#include "common/keys.h"
#include "common/wire.h"
#include "cli/export_model.h"
#include "cli/inspect.h"
#include "coordinator/journal.h"
#include "cli/top.h"
#include "cli/views.h"

namespace fs = std::filesystem;

namespace polysweep {

int Fail(const std::string& message, int code) {
  std::cerr << "polysweep: error: " << message << "\n";
  return code;
}

namespace {

// Where a running coordinator listens, from <dir>/coordinator.endpoint:
// "ENDPOINT\nplain\n" or "ENDPOINT\ncurve\nKEYS_DIR\n".
struct CoordinatorAddress {
  std::string endpoint;
  std::optional<CurveClientKeys> curve;
};

StatusOr<CoordinatorAddress> FindCoordinator(const std::string& dir) {
  auto text = ReadFile(dir + "/coordinator.endpoint");
  if (!text.ok()) return Status::Error("no coordinator is running for " + dir);
  std::istringstream lines(*text);
  CoordinatorAddress a;
  std::string mode, keys_dir;
  std::getline(lines, a.endpoint);
  std::getline(lines, mode);
  std::getline(lines, keys_dir);
  if (mode == "curve") {
    SweepKeyFiles keys(keys_dir);
    auto server = LoadPublicKey(keys.coordinator() + ".pub");
    if (!server.ok()) return server.status();
    // The owner's key may change state; a rank's key can only read.
    auto mine = LoadKeyPair(keys.owner() + ".key");
    if (!mine.ok()) return mine.status().With("this sweep is secured and the owner's key is not readable");
    a.curve = CurveClientKeys{*server, *mine};
  }
  return a;
}

StatusOr<wire::Envelope> CallCoordinator(const std::string& dir, wire::Envelope request, std::string* endpoint) {
  auto address = FindCoordinator(dir);
  if (!address.ok()) return address.status();
  *endpoint = address->endpoint;
  zmq::context_t ctx(1);
  RequestClient client(ctx, address->endpoint, address->curve);
  return client.Call(std::move(request), std::chrono::milliseconds(1500));
}


// trial.ranks of the config the sweep started with (its data files may have
// moved since, so it is not validated again).
int RanksPerTrial(const std::string& config_text) {
  try {
    YAML::Node trial = YAML::Load(config_text)["trial"];
    if (trial && trial["ranks"]) return trial["ranks"].as<int>();
    return SweepConfig().trial.ranks;
  } catch (const YAML::Exception&) {
    return 0;
  }
}

}  // namespace

StatusOr<std::string> FindSweepDir(const std::string& given) {
  if (!given.empty()) {
    if (!fs::exists(given + "/journal.db")) return Status::Error(given + ": no journal.db here (not a sweep directory)");
    return given;
  }
  std::error_code ec;
  std::optional<fs::path> newest;
  fs::file_time_type newest_time;
  for (const auto& entry : fs::directory_iterator("runs", ec)) {
    fs::path j = entry.path() / "journal.db";
    if (!fs::exists(j)) continue;
    auto t = fs::last_write_time(j, ec);
    if (!newest || t > newest_time) newest = entry.path(), newest_time = t;
  }
  if (!newest) return Status::Error("no sweep found under ./runs; pass --dir SWEEP_DIR");
  return newest->string();
}

// The sweep's status: from the running coordinator, else from the journal.
// `source` says which; a coordinator that left its endpoint file but does
// not answer is named on stderr.
StatusOr<wire::StatusReply> LoadSweepStatus(const std::string& dir, std::string* source, bool quiet) {
  std::string endpoint;
  if (auto live = AskCoordinator(dir, &endpoint)) {
    *source = "live coordinator at " + endpoint;
    return *live;
  }
  auto journal = Journal::OpenReadOnly(dir + "/journal.db");
  if (!journal.ok()) return journal.status();
  auto snap = (*journal)->Snapshot();
  if (!snap.ok()) return snap.status();
  if (!endpoint.empty()) {
    if (!quiet) std::cerr << "polysweep: the coordinator at " << endpoint << " does not answer (stopped or crashed); "
              << "showing the journal\n";
    *source = "journal " + dir + "/journal.db (the coordinator at " + endpoint + " does not answer)";
  } else {
    *source = "journal " + dir + "/journal.db (no coordinator running)";
  }
  return *snap;
}

// Asks a live coordinator for its status; nullopt when none answers.
std::optional<wire::StatusReply> AskCoordinator(const std::string& dir, std::string* endpoint) {
  wire::Envelope req;
  req.mutable_status_request();
  auto reply = CallCoordinator(dir, std::move(req), endpoint);
  if (!reply.ok() || !reply->has_status_reply()) return std::nullopt;
  return reply->status_reply();
}

// stop, pause or resume: the coordinator journals the command and rank 0
// of the trial receives it with its next acknowledgement.
int ControlTrial(const std::string& dir_flag, uint32_t trial, wire::Command command, const std::string& output) {
  auto dir = FindSweepDir(dir_flag);
  if (!dir.ok()) return Fail(dir.status().message());
  wire::Envelope req;
  req.mutable_control_request()->set_trial(trial);
  req.mutable_control_request()->set_command(command);
  std::string endpoint;
  auto reply = CallCoordinator(*dir, std::move(req), &endpoint);
  if (!reply.ok()) return Fail(reply.status().message(), 1);
  if (reply->has_reject()) return Fail("coordinator refused: " + reply->reject().reason(), 1);
  const char* what = command == wire::COMMAND_STOP    ? "stopping (its ranks stop together at their next step)"
                     : command == wire::COMMAND_PAUSE ? "pausing (its ranks commit a checkpoint and end)"
                                                      : "resumed from its checkpoint";
  if (output == "json") {
    const char* name = command == wire::COMMAND_STOP ? "stop" : command == wire::COMMAND_PAUSE ? "pause" : "resume";
    std::cout << nlohmann::json{{"trial", trial}, {"command", name}, {"accepted", true}, {"result", what},
                                {"coordinator", endpoint}}.dump(2)
              << "\n";
  } else {
    std::cout << "trial " << trial << " " << what << "\n";
  }
  return 0;
}

// Where the best trial's best model is: its best-scoring checkpoint.
std::string BestTrialCheckpoint(const wire::StatusReply& status, const std::string& dir) {
  auto best = BestTrial(status);
  return best ? BestCheckpoint(dir + "/checkpoints/trial-" + std::to_string(best->id())) : "";
}


// The journaled test-split scores of the best trials (budget.test_top_k), one line each.
std::string RenderTestScores(const std::string& dir) {
  auto journal = Journal::OpenReadOnly(dir + "/journal.db");
  if (!journal.ok()) return "";
  auto scores = (*journal)->TestScores();
  if (!scores.ok() || scores->empty()) return "";
  std::string out = "\ntest split (budget.test_top_k; reports in model/ and models/trial-N/)\n";
  for (const JournalTestScore& t : *scores) out += "  trial " + std::to_string(t.trial) + ": " + t.summary + "\n";
  return out;
}

int Watch(const std::string& what, const WatchOptions& o) {
  auto dir = FindSweepDir(o.dir);
  if (!dir.ok()) return Fail(dir.status().message());
  std::string source;
  auto status = LoadSweepStatus(*dir, &source);
  if (!status.ok()) return Fail(status.status().message());
  const bool json = o.output == "json";
  if (what == "status") {
    int ranks = 0;
    if (auto journal = Journal::OpenReadOnly(*dir + "/journal.db"); journal.ok()) {
      if (auto sweep = (*journal)->Sweep(); sweep.ok()) {
        ranks = RanksPerTrial(sweep->config);
      }
    }
    std::cout << (json ? StatusJson(*status, source, ranks) : RenderStatus(*status, source, ranks));
  }
  if (what == "trials") {
    if (Status s = SortTrials(&*status, o.sort, o.descending); !s.ok()) return Fail(s.message());
    std::cout << (json ? TrialsJson(*status) : RenderTrials(*status));
  }
  if (what == "best") {
    const std::string checkpoint = BestTrialCheckpoint(*status, *dir);
    const std::optional<TestScore> test = LoadTestScore(*dir);
    if (json) {
      std::cout << BestJson(*status, checkpoint, o.k, test);
    } else {
      std::cout << RenderBest(*status, checkpoint, test);
      if (o.k > 1) std::cout << "\n" << RenderTopTrials(*status, o.k) << RenderTestScores(*dir);
    }
  }
  return 0;
}

int Top(const WatchOptions& o, bool once) {
  auto dir = FindSweepDir(o.dir);
  if (!dir.ok()) return Fail(dir.status().message());
  if (o.output == "json") {  // one frame's data: the live status with each running rank
    std::string source;
    auto status = LoadSweepStatus(*dir, &source);
    if (!status.ok()) return Fail(status.status().message());
    auto j = nlohmann::json::parse(ToJson(*status));
    j["source"] = source;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  return RunTop([&](std::string* source) { return LoadSweepStatus(*dir, source, /*quiet=*/true); }, once);
}

int Describe(uint64_t trial, const WatchOptions& o) {
  auto dir = FindSweepDir(o.dir);
  if (!dir.ok()) return Fail(dir.status().message());
  std::string source;
  auto status = LoadSweepStatus(*dir, &source);
  if (!status.ok()) return Fail(status.status().message());
  auto journal = Journal::OpenReadOnly(*dir + "/journal.db");
  if (!journal.ok()) return Fail(journal.status().message());
  auto history = (*journal)->History(trial);
  if (!history.ok()) return Fail(history.status().message());
  const wire::TrialSummary* summary = nullptr;
  for (const auto& t : status->trials()) {
    if (t.id() == trial) summary = &t;
  }
  if (!summary) return Fail("no trial " + std::to_string(trial) + " in sweep " + status->sweep());
  const TrialFiles files = FindTrialFiles(*dir, trial);
  if (o.output == "json") {
    std::cout << DescribeJson(*status, *summary, *history, files);
  } else {
    std::cout << RenderDescribe(*status, *summary, *history, files) << "\nsource: " << source << "\n";
  }
  return 0;
}

namespace {

// Whether a log line belongs to `rank` ("... rank R/W ..." in its prefix).
bool OfRank(const std::string& line, std::optional<int> rank) {
  if (!rank) return true;
  const size_t bracket = line.find('[');
  const size_t close = line.find(']', bracket);
  if (bracket == std::string::npos || close == std::string::npos) return false;
  return line.substr(bracket, close - bracket).find(" rank " + std::to_string(*rank) + "/") != std::string::npos;
}

// A trial that may still write to its log.
bool StillRunning(const std::string& dir, uint64_t trial) {
  auto journal = Journal::OpenReadOnly(dir + "/journal.db");
  if (!journal.ok()) return false;
  auto trials = (*journal)->Trials();
  if (!trials.ok()) return false;
  for (const auto& t : *trials) {
    if (t.id == trial) return t.state == TrialState::kRunning || t.state == TrialState::kPending;
  }
  return false;
}

}  // namespace

namespace {

// A worker's log line as JSON: "HH:MM:SS.mmm LEVEL [trial T attempt A rank
// R/W host H] MESSAGE" split into its fields; any other line (mpirun's,
// a crash's) as {"line": ...} alone.
std::string LogLineJson(const std::string& line) {
  nlohmann::json j = {{"line", line}};
  const size_t open = line.find(" ["), close = line.find("] ");
  if (open != std::string::npos && close != std::string::npos && close > open) {
    const size_t space = line.find(' ');
    int t = 0, a = 0, r = 0, w = 0;
    char host[256] = "";
    const std::string inside = line.substr(open + 2, close - open - 2);
    if (std::sscanf(inside.c_str(), "trial %d attempt %d rank %d/%d host %255s", &t, &a, &r, &w, host) == 5) {
      j["time"] = line.substr(0, space);
      j["level"] = line.substr(space + 1, open - space - 1);
      j["trial"] = t;
      j["attempt"] = a;
      j["rank"] = r;
      j["world_size"] = w;
      j["host"] = host;
      j["message"] = line.substr(close + 2);
    }
  }
  return j.dump();
}

}  // namespace

int Logs(uint64_t trial, const std::string& dir_flag, std::optional<int> rank, bool follow, const std::string& output) {
  const bool json = output == "json";
  auto dir = FindSweepDir(dir_flag);
  if (!dir.ok()) return Fail(dir.status().message());
  {
    auto journal = Journal::OpenReadOnly(*dir + "/journal.db");
    if (!journal.ok()) return Fail(journal.status().message());
    if (auto h = (*journal)->History(trial); !h.ok()) return Fail(h.status().message());
  }
  const std::string path = *dir + "/trial-" + std::to_string(trial) + ".log";
  std::ifstream in;
  std::string partial;
  bool printed_waiting = false;
  while (true) {
    if (!in.is_open()) {
      in.open(path, std::ios::binary);
      if (!in.is_open() && !follow) {
        std::cerr << "polysweep: trial " << trial << " has no log yet (" << path << ")\n";
        return 0;
      }
      if (!in.is_open() && !printed_waiting) {
        std::cerr << "polysweep: waiting for " << path << "\n";
        printed_waiting = true;
      }
    }
    const bool running = follow && StillRunning(*dir, trial);  // read before the log: nothing is missed
    if (in.is_open()) {
      std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      in.clear();  // at EOF: later reads see what is appended
      partial += chunk;
      size_t start = 0, nl;
      while ((nl = partial.find('\n', start)) != std::string::npos) {
        std::string line = partial.substr(start, nl - start);
        if (OfRank(line, rank)) std::cout << (json ? LogLineJson(line) : line) << "\n";
        start = nl + 1;
      }
      partial.erase(0, start);
      std::cout.flush();
    }
    if (!follow || !running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  if (!partial.empty() && OfRank(partial, rank)) std::cout << (json ? LogLineJson(partial) : partial) << "\n";
  return 0;
}

int Export(const std::string& dir_flag, const std::string& format, const std::string& out_path) {
  auto dir = FindSweepDir(dir_flag);
  if (!dir.ok()) return Fail(dir.status().message());
  std::string source;
  auto status = LoadSweepStatus(*dir, &source);
  if (!status.ok()) return Fail(status.status().message());
  const std::string text = format == "csv" ? ExportCsv(*status) : ExportJsonl(*status);
  if (out_path.empty() || out_path == "-") {
    std::cout << text;
    return 0;
  }
  // Written whole or not at all: a reader never sees half an export.
  if (Status s = WriteFileAtomic(out_path, text); !s.ok()) return Fail(s.message());
  std::cerr << "wrote " << status->trials_size() << " trials to " << out_path << " (" << source << ")\n";
  return 0;
}

int ServeDashboard(const std::string& dir_flag, const DashboardOptions& options) {
  auto dir = FindSweepDir(dir_flag);
  if (!dir.ok()) return Fail(dir.status().message());
  // Ctrl-C and kill end the server through sigwait, not a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before the server's thread starts: it inherits the mask
  const std::string d = *dir;
  auto dashboard = Dashboard::Start(d, options, [d](std::string* source) { return LoadSweepStatus(d, source, true); });
  if (!dashboard.ok()) return Fail(dashboard.status().message());
  std::cout << "dashboard of " << d << ": " << (*dashboard)->url() << "\n(Ctrl-C stops it)" << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  return 0;
}

int WriteReport(const std::string& dir_flag, const std::string& out_path) {
  auto dir = FindSweepDir(dir_flag);
  if (!dir.ok()) return Fail(dir.status().message());
  const std::string d = *dir;
  auto data = DashboardData(d, [d](std::string* source) { return LoadSweepStatus(d, source); });
  if (!data.ok()) return Fail(data.status().message());
  auto page = RenderReport(DashboardAssetsDir(), *data);
  if (!page.ok()) return Fail(page.status().message());
  if (Status s = WriteFileAtomic(out_path, *page); !s.ok()) return Fail(s.message());
  std::cout << "wrote " << out_path << " (" << page->size() / 1024 << " KB; opens without a server)\n";
  return 0;
}

}  // namespace polysweep
