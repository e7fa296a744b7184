// The watching CLI against a real sweep (2 trials x 2 MPI ranks): describe,
// logs, export, best -k and trials --sort, live while the coordinator runs
// and read-only from the journal after; and its answers to bad input (an
// unknown trial, a coordinator that does not answer, a journal from a newer
// polysweep).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "command.h"
#include "journal_reader.h"

namespace polysweep {
namespace {

using nlohmann::json;
using testing_util::JournalReader;
using testing_util::Quote;
using testing_util::RunCommand;

std::string Cli(const std::string& args, const std::string& run) {
  return std::string(POLYSWEEP_BIN) + " " + args + " --dir " + Quote(run);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(Cli, DescribeLogsExportAndRankingOnALiveSweepAndItsJournal) {
  ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
  const std::string dir = testing_util::FreshDir("cli"), run = dir + "/run";
  const std::string config = dir + "/cli.yaml";
  std::ofstream(config) << "name: cli\noutput_dir: " << run << "\n"
                        << "data: {files: [" << POLYSWEEP_DEFAULT_DATA << "], group_field: group, "
                        << "max_per_language: 80, vocab_size: 2000}\n"
                        << "model: {layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 32}\n"
                        << "trial: {ranks: 2, threads_per_rank: 1}\n"
                        << "max_concurrent: 1\n"
                        << "search: {algorithm: random, seed: 5, space: {lr: {type: loguniform, low: 2.0e-3, "
                        << "high: 6.0e-3}, dropout: {type: choice, values: [0.0, 0.1]}}}\n"
                        << "metric: {name: macro_f1}\n"
                        << "budget: {max_trials: 2, max_steps: 80, eval_every: 40, log_every: 5}\n";
  const pid_t pid = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/sweep.log");
  ASSERT_GT(pid, 0);

  // Live: once trial 1 reports, describe it through the running coordinator,
  // and follow rank 1's log until the trial ends.
  bool described_live = false;
  pid_t follower = -1;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (!described_live && std::filesystem::exists(run + "/coordinator.endpoint")) {
      auto d = RunCommand(Cli("describe 1 -o json", run));
      if (d.exit_code == 0) {
        auto j = json::parse(d.out);
        if (j["state"] == "running" && j["step"].get<int>() > 0) {
          described_live = true;
          EXPECT_EQ(j["id"], 1);
          EXPECT_EQ(j["attempt"], 1);
          EXPECT_FALSE(j["progress"].empty());
          EXPECT_EQ(j["transitions"][0]["to"], "running");
          follower = testing_util::Spawn({POLYSWEEP_BIN, "logs", "1", "-f", "--rank", "1", "--dir", run},
                                         dir + "/follow.log");
          auto text = RunCommand(Cli("describe 1", run));
          EXPECT_NE(text.out.find("source: live coordinator at tcp://"), std::string::npos) << text.out;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!WIFEXITED(status)) {
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    FAIL() << "sweep did not finish in time";
  }
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(described_live) << "never saw trial 1 running";
  // The follower ends by itself once its trial is no longer running.
  ASSERT_EQ(testing_util::WaitFor(follower, 30), 0) << "logs -f did not end with its trial";
  std::stringstream followed;
  followed << std::ifstream(dir + "/follow.log").rdbuf();
  const auto follow_lines = Lines(followed.str());
  ASSERT_FALSE(follow_lines.empty());
  for (const auto& line : follow_lines) EXPECT_NE(line.find("rank 1/2"), std::string::npos) << line;
  EXPECT_NE(followed.str().find("done: 80 steps"), std::string::npos) << "missed the trial's last line";

  JournalReader j(run + "/journal.db");
  ASSERT_TRUE(j.ok());

  // describe, from the journal: every section, checked against the journal.
  auto d = RunCommand(Cli("describe 2 -o json", run));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  auto dj = json::parse(d.out);
  EXPECT_EQ(dj["id"], 2);
  EXPECT_EQ(dj["state"], "completed");
  EXPECT_EQ(dj["sweep"], "cli");
  EXPECT_EQ(dj["restarts"], 0);
  EXPECT_EQ(dj["step"], 80);
  EXPECT_EQ(dj["hparams"]["lr"], j.Scalar("SELECT json_extract(hparams, '$.lr') FROM trials WHERE id=2"));
  ASSERT_EQ(dj["evaluations"].size(), 2u);
  EXPECT_EQ(dj["evaluations"][1]["step"], 80);
  EXPECT_EQ(dj["evaluations"][1]["final"], true);
  EXPECT_GE(dj["evaluations"][1]["languages"].size(), 8u);
  EXPECT_EQ(dj["progress"].size(), 16u);  // every 5 steps
  EXPECT_EQ(std::to_string(dj["transitions"].size()), j.Scalar("SELECT COUNT(*) FROM transitions WHERE trial_id=2"));
  EXPECT_EQ(dj["transitions"].back()["to"], "completed");
  ASSERT_FALSE(dj["checkpoints"].empty());
  EXPECT_TRUE(dj["best_checkpoint"].is_string());
  EXPECT_EQ(dj["log"], std::filesystem::absolute(run).string() + "/trial-2.log");
  auto dt = RunCommand(Cli("describe 2", run));
  ASSERT_EQ(dt.exit_code, 0);
  for (const char* key : {"trial 2 of sweep cli: completed", "hyperparameters  dropout=", "checkpoints", "evaluations",
                          "languages at step 80", "MACRO-F1", "history", "no coordinator running"}) {
    EXPECT_NE(dt.out.find(key), std::string::npos) << key << " not in\n" << dt.out;
  }

  // logs: both ranks' lines; --rank 0 only rank 0's.
  auto all = RunCommand(Cli("logs 1", run));
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("rank 0/2"), std::string::npos);
  EXPECT_NE(all.out.find("rank 1/2"), std::string::npos);
  auto rank0 = RunCommand(Cli("logs 1 --rank 0", run));
  ASSERT_EQ(rank0.exit_code, 0);
  EXPECT_NE(rank0.out.find("rank 0/2"), std::string::npos);
  EXPECT_EQ(rank0.out.find("rank 1/2"), std::string::npos);
  auto logs_json = RunCommand(Cli("logs 1 --rank 1 -o json", run));
  ASSERT_EQ(logs_json.exit_code, 0) << logs_json.err;
  const auto json_lines = Lines(logs_json.out);
  ASSERT_EQ(json_lines.size(), Lines(RunCommand(Cli("logs 1 --rank 1", run)).out).size());
  for (const auto& line : json_lines) {
    auto l = json::parse(line);
    EXPECT_EQ(l["trial"], 1) << line;
    EXPECT_EQ(l["rank"], 1) << line;
    EXPECT_EQ(l["world_size"], 2) << line;
    EXPECT_EQ(l["level"], "info") << line;
    EXPECT_FALSE(l["message"].get<std::string>().empty()) << line;
  }

  // export: csv and jsonl agree with the journal.
  auto csv = RunCommand(Cli("export --format csv", run));
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  auto rows = Lines(csv.out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].rfind("id,state,attempt,outcome,reason,step,max_steps,loss,samples_per_sec,metric,", 0), 0u);
  EXPECT_NE(rows[0].find(",dropout,lr,f1_"), std::string::npos) << rows[0];
  EXPECT_EQ(rows[1].rfind("1,completed,1,completed,", 0), 0u) << rows[1];
  const std::string out_file = dir + "/trials.jsonl";
  auto jsonl = RunCommand(Cli("export --format jsonl --out " + Quote(out_file), run));
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  EXPECT_NE(jsonl.err.find("wrote 2 trials to " + out_file), std::string::npos) << jsonl.err;
  std::ifstream exported(out_file);
  int n = 0;
  for (std::string line; std::getline(exported, line); ++n) {
    auto row = json::parse(line);
    EXPECT_EQ(row["id"], n + 1);
    EXPECT_NEAR(row["metric"].get<double>(),
                std::stod(j.Scalar("SELECT objective FROM evaluations WHERE final=1 AND trial_id=" + std::to_string(n + 1))),
                1e-9);
  }
  EXPECT_EQ(n, 2);

  // best -k and trials --sort: best first, by the journal's objectives.
  const std::string order = j.Scalar("SELECT group_concat(trial_id) FROM (SELECT trial_id FROM evaluations "
                                     "WHERE final=1 ORDER BY objective DESC, trial_id)");
  auto top = RunCommand(Cli("best -k 2 -o json", run));
  ASSERT_EQ(top.exit_code, 0) << top.err;
  auto tj = json::parse(top.out);
  ASSERT_EQ(tj["top"].size(), 2u);
  EXPECT_EQ(std::to_string(tj["top"][0]["id"].get<int>()) + "," + std::to_string(tj["top"][1]["id"].get<int>()), order);
  EXPECT_EQ(tj["best"]["id"], tj["top"][0]["id"]);
  auto top_text = RunCommand(Cli("best -k 2", run));
  EXPECT_NE(top_text.out.find("best 2 of sweep cli by macro_f1 (max)"), std::string::npos) << top_text.out;
  auto sorted = RunCommand(Cli("trials --sort metric -o json", run));
  ASSERT_EQ(sorted.exit_code, 0) << sorted.err;
  auto sj = json::parse(sorted.out);
  EXPECT_EQ(std::to_string(sj["trials"][0]["id"].get<int>()) + "," + std::to_string(sj["trials"][1]["id"].get<int>()),
            order);
  auto st = RunCommand(Cli("status -o json", run));
  ASSERT_EQ(st.exit_code, 0);
  auto stj = json::parse(st.out);
  EXPECT_EQ(stj["resources"]["ranks_per_trial"], 2);
  EXPECT_GT(stj["resources"]["rank_seconds"].get<double>(), 0);
  EXPECT_TRUE(stj["eta_seconds"].is_null());  // finished

  // Bad input: an unknown trial is named, with the trials there are.
  auto unknown = RunCommand(Cli("describe 7", run));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no trial 7"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("trials 1 to 2"), std::string::npos) << unknown.err;
  EXPECT_EQ(RunCommand(Cli("logs 7", run)).exit_code, 2);
  auto bad_sort = RunCommand(Cli("trials --sort speed", run));
  EXPECT_EQ(bad_sort.exit_code, 2);
  EXPECT_NE(bad_sort.err.find("no such column"), std::string::npos) << bad_sort.err;
  // A coordinator that left its endpoint behind and does not answer: the
  // journal is read, and the CLI says so.
  std::ofstream(run + "/coordinator.endpoint") << "tcp://127.0.0.1:9\nplain\n";
  auto stale = RunCommand(Cli("status", run));
  EXPECT_EQ(stale.exit_code, 0) << stale.err;
  EXPECT_NE(stale.err.find("does not answer"), std::string::npos) << stale.err;
  EXPECT_NE(stale.out.find("journal " + run + "/journal.db (the coordinator at tcp://127.0.0.1:9 does not answer)"),
            std::string::npos)
      << stale.out;
  std::filesystem::remove(run + "/coordinator.endpoint");
  // A journal from a newer polysweep: a clear message, nothing changed.
  const std::string newer = dir + "/newer";
  std::filesystem::create_directories(newer);
  std::filesystem::copy_file(run + "/journal.db", newer + "/journal.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((newer + "/journal.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  for (const char* cmd : {"status", "trials", "describe 1", "export --format csv"}) {
    auto r = RunCommand(Cli(cmd, newer));
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_NE(r.err.find("journal schema version 99 is newer than this polysweep understands"), std::string::npos)
        << cmd << ": " << r.err;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep

namespace polysweep {
namespace {

// The step of trial `id`'s line on a `top` screen ("  N/MAX"), or -1.
int64_t StepOnScreen(const std::string& screen, const std::string& max_steps) {
  std::istringstream in(screen);
  for (std::string line; std::getline(in, line);) {
    if (line.find("running") == std::string::npos) continue;
    const size_t slash = line.find("/" + max_steps);
    if (slash == std::string::npos) continue;
    size_t start = slash;
    while (start > 0 && std::isdigit(static_cast<unsigned char>(line[start - 1]))) --start;
    if (start < slash) return std::stoll(line.substr(start, slash - start));
  }
  return -1;
}

// `top` in a real terminal (tmux): the running trial and each of its ranks
// are on screen, and the step advances between two looks; q ends it.
TEST(Cli, TopInTmuxShowsTheRunningTrialAndItsRanksAdvancing) {
  ASSERT_EQ(RunCommand("command -v tmux").exit_code, 0) << "tmux is not installed (scripts/install-deps installs it)";
  const std::string dir = testing_util::FreshDir("top"), run = dir + "/run";
  const std::string config = dir + "/top.yaml";
  std::ofstream(config) << "name: top\noutput_dir: " << run << "\n"
                        << "data: {files: [" << POLYSWEEP_DEFAULT_DATA << "], group_field: group, "
                        << "max_per_language: 60, vocab_size: 2000}\n"
                        << "model: {layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 32}\n"
                        << "trial: {ranks: 2, threads_per_rank: 1, heartbeat_seconds: 0.5}\n"
                        << "search: {space: {lr: {type: choice, values: [0.003]}}}\n"
                        << "budget: {max_trials: 1, max_steps: 100000, log_every: 10}\n";
  const pid_t pid = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/sweep.log");
  ASSERT_GT(pid, 0);
  // Whatever fails below, the sweep does not outlive the test.
  const std::string tmux = "tmux -L polysweep-top-" + std::to_string(getpid()) + " ";
  struct Reaper {
    pid_t pid;
    std::string tmux;
    bool reaped = false;
    ~Reaper() {
      RunCommand(tmux + "kill-server");
      if (!reaped) testing_util::WaitFor(pid, 0);  // SIGTERM, then waits: the sweep drains
    }
  } reaper{pid, tmux};
  for (int i = 0; i < 600 && !std::filesystem::exists(run + "/journal.db"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto started = RunCommand(tmux + "new-session -d -s top -x 180 -y 40 " +
                            Quote(std::string(POLYSWEEP_BIN) + " top --dir " + Quote(run)));
  ASSERT_EQ(started.exit_code, 0) << started.err;
  auto screen = [&] { return RunCommand(tmux + "capture-pane -p -t top").out; };

  std::string first;
  int64_t first_step = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (std::chrono::steady_clock::now() < deadline) {
    first = screen();
    first_step = StepOnScreen(first, "100000");
    if (first_step > 0 && first.find("rank 1  ") != std::string::npos && first.find("steps/s") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_GT(first_step, 0) << "the running trial never showed on screen:\n" << first;
  EXPECT_NE(first.find("polysweep top  sweep top (running"), std::string::npos) << first;
  EXPECT_NE(first.find("rank 0  "), std::string::npos) << first;
  EXPECT_NE(first.find("live coordinator at tcp://"), std::string::npos) << first;
  EXPECT_NE(first.find("%"), std::string::npos) << "no progress bar:\n" << first;
  // The same data as JSON: each running rank from its heartbeats.
  auto frame = RunCommand(Cli("top -o json", run));
  ASSERT_EQ(frame.exit_code, 0) << frame.err;
  auto fj = json::parse(frame.out);
  ASSERT_EQ(fj["trials"].size(), 1u);
  ASSERT_EQ(fj["trials"][0]["ranks"].size(), 2u) << frame.out;
  EXPECT_EQ(fj["trials"][0]["ranks"][1]["rank"], 1);
  EXPECT_GT(fj["trials"][0]["ranks"][1]["pid"].get<int>(), 0);
  EXPECT_EQ(fj["trials"][0]["ranks"][0]["stalled"], false);
  EXPECT_NE(fj["source"].get<std::string>().find("live coordinator"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  const std::string second = screen();
  EXPECT_GT(StepOnScreen(second, "100000"), first_step) << "the screen did not update:\n" << second;

  // q leaves top (the tmux session ends with it); the sweep is stopped.
  ASSERT_EQ(RunCommand(tmux + "send-keys -t top q").exit_code, 0);
  bool ended = false;
  for (int i = 0; i < 40 && !ended; ++i) {
    ended = RunCommand(tmux + "has-session -t top").exit_code != 0;
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(ended) << "top did not quit on q";
  auto stop = RunCommand(Cli("stop 1 -o json", run));
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  auto sj = json::parse(stop.out);
  EXPECT_EQ(sj["trial"], 1);
  EXPECT_EQ(sj["command"], "stop");
  EXPECT_EQ(sj["accepted"], true);
  // Its only trial stopped before an evaluation: the sweep ends with no best trial (exit 1).
  EXPECT_EQ(testing_util::WaitFor(pid, 120), 1);
  reaper.reaped = true;
  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "stopped");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
