// Sweeps on a test cluster of network namespaces (tests/cluster/netns-cluster):
// two nodes with their own addresses and hostnames on a private bridge,
// reached by mpirun through a remote-shell stand-in, the file system shared.
// The coordinator binds on the bridge, so CURVE is on (its default for an
// address that is not loopback), and the ranks talk TCP between nodes on
// the subnet polysweep picks for Open MPI. Needs root (network namespaces).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <functional>
#include <iostream>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "command.h"
#include "journal_reader.h"

namespace polysweep {
namespace {

using testing_util::JournalReader;
using testing_util::Quote;
using testing_util::RunCommand;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "network namespaces need root; run the tests as root";
    ASSERT_TRUE(std::filesystem::exists(POLYSWEEP_DEFAULT_DATA)) << "run scripts/make-default-data first";
    dir_ = testing_util::FreshDir("cluster");
    id_ = std::to_string(getpid());
    RunCommand(Script() + " clean");  // clusters of earlier runs that were killed
    auto up = RunCommand(Script() + " up " + id_ + " 2 " + Quote(dir_));
    ASSERT_EQ(up.exit_code, 0) << up.err;
    coordinator_ip_ = up.out.substr(0, up.out.find('\n'));
    up_ = true;
  }
  void TearDown() override {
    // A sweep a failed assertion left running: interrupted (it ends its
    // trials' processes), terminated if it has not ended in 15 s.
    if (sweep_ > 0 && waitpid(sweep_, nullptr, WNOHANG) == 0) {
      kill(sweep_, SIGINT);
      testing_util::WaitFor(sweep_, 15);
    }
    if (up_) RunCommand(Script() + " down " + id_);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  static std::string Script() { return std::string(POLYSWEEP_SOURCE_DIR) + "/tests/cluster/netns-cluster"; }

  // A sweep of the default data on the cluster: `ranks` per trial, `trials`
  // of them at once, its coordinator on the bridge.
  std::string Config(const std::string& name, int ranks, int trials, bool on_cluster, int steps = 40, int hang = 30) {
    const std::string path = dir_ + "/" + name + ".yaml";
    std::ofstream(path) << testing_util::TinySweepHead(name, dir_ + "/" + name, POLYSWEEP_DEFAULT_DATA)
                        << (on_cluster ? "bind: \"tcp://" + coordinator_ip_ + ":*\"\n" : "")
                        << "max_concurrent: " << trials << "\n"
                        << "trial: {ranks: " << ranks << (on_cluster ? ", hosts: " + dir_ + "/hosts" : "")
                        << ", checkpoint_every: 50, heartbeat_seconds: 1, hang_timeout_seconds: " << hang << "}\n"
                        << "search: {algorithm: grid, space: {lr: {type: choice, values: [2.0e-3, 4.0e-3]}}}\n"
                        << "budget: {max_trials: " << trials << ", max_steps: " << steps
                        << ", eval_every: " << steps / 2 << ", log_every: 20}\n";
    return path;
  }
  // The sweep, with Open MPI reaching the nodes through the cluster's remote shell.
  testing_util::CommandResult Sweep(const std::string& config) {
    return RunCommand("OMPI_MCA_plm_rsh_agent=" + Quote(dir_ + "/rsh") + " " + POLYSWEEP_BIN + " sweep " +
                      Quote(config));
  }
  // The sweep started in the background, its log in DIR/log.
  pid_t SpawnSweep(const std::string& config) {
    setenv("OMPI_MCA_plm_rsh_agent", (dir_ + "/rsh").c_str(), 1);
    sweep_ = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir_ + "/log");
    unsetenv("OMPI_MCA_plm_rsh_agent");
    return sweep_;
  }
  std::string Log() const { return testing_util::ReadText(dir_ + "/log"); }
  // Whether `done` holds within a minute.
  static bool Waited(const std::function<bool()>& done) {
    for (int i = 0; i < 1200 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return done();
  }
  // Whether the sweep ended within a minute, and ended well.
  ::testing::AssertionResult SweepSucceeded(pid_t sweep) {
    int status = 0;
    bool ended = false;
    if (!Waited([&] { return ended = ended || waitpid(sweep, &status, WNOHANG) == sweep; })) {
      kill(sweep, SIGKILL);
      waitpid(sweep, &status, 0);
      return ::testing::AssertionFailure() << "the sweep did not end:\n" << Log();
    }
    sweep_ = 0;  // reaped
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return ::testing::AssertionFailure() << Log();
    return ::testing::AssertionSuccess();
  }
  static double Now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  // The node trial 1's ranks run on once its log line of `step` is out
  // (400: past its first checkpoints, every 50 steps); "" if it gets no further.
  std::string NodeOfTrialOneAt(int step = 400) {
    const std::string line = "trial 1 step " + std::to_string(step) + "/";
    if (!Waited([&] { return Log().find(line) != std::string::npos; })) return "";
    const std::string node = *RankHosts(Log()).at("1").begin();
    return node == "node2" || node == "node3" ? node : "";
  }
  // Seconds since midnight (UTC, as the coordinator logs) of a Now().
  static double DayTime(double now) { return std::fmod(now, 86400.0); }
  // The time of day of the log's first line holding `text` ("HH:MM:SS.mmm ..."), -1 if none.
  static double LoggedAt(const std::string& log, const std::string& text) {
    const size_t at = log.find(text);
    if (at == std::string::npos) return -1;
    const size_t line = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
    int h = 0, m = 0;
    double sec = 0;
    if (std::sscanf(log.c_str() + line, "%d:%d:%lf", &h, &m, &sec) != 3) return -1;
    return h * 3600 + m * 60 + sec;
  }

  // trial -> the hosts its ranks connected from, from the coordinator's log.
  static std::map<std::string, std::multiset<std::string>> RankHosts(const std::string& log) {
    std::map<std::string, std::multiset<std::string>> out;
    const std::regex connected(R"(trial (\d+) rank \d+/\d+ connected from (\S+) pid)");
    for (std::sregex_iterator m(log.begin(), log.end(), connected), end; m != end; ++m) {
      out[(*m)[1]].insert((*m)[2]);
    }
    return out;
  }

  std::string dir_, id_, coordinator_ip_;
  bool up_ = false;
  pid_t sweep_ = 0;  // the sweep SpawnSweep started, until it is reaped
};

// Two trials of 2 ranks at once on two nodes of 2 slots: each trial packed
// on a node of its own, over CURVE, and both complete.
TEST_F(ClusterTest, ConcurrentTrialsArePackedOntoDisjointNodes) {
  auto r = Sweep(Config("packed", 2, 2, true));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("with CURVE"), std::string::npos) << r.err;
  const auto hosts = RankHosts(r.err);
  ASSERT_EQ(hosts.size(), 2u) << r.err;
  const auto& first = hosts.at("1");
  const auto& second = hosts.at("2");
  EXPECT_EQ(first.size(), 2u);
  EXPECT_EQ(first.count(*first.begin()), 2u) << r.err;  // both ranks on one node
  EXPECT_EQ(second.count(*second.begin()), 2u) << r.err;
  EXPECT_NE(*first.begin(), *second.begin()) << r.err;  // and not the same one
  for (const auto& h : {*first.begin(), *second.begin()}) EXPECT_TRUE(h == "node2" || h == "node3") << h;
  JournalReader j(dir_ + "/packed/journal.db");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE state='completed'"), "2");
}

// A trial of 4 ranks spans both nodes (MPI over TCP between namespaces)
// and evaluates as the same trial on this host alone: same seeds, same
// data order, the same all-reduced gradients.
TEST_F(ClusterTest, ATrialAcrossTwoNodesScoresAsOnOneNode) {
  auto across = Sweep(Config("across", 4, 1, true));
  ASSERT_EQ(across.exit_code, 0) << across.out << across.err;
  const auto hosts = RankHosts(across.err).at("1");
  EXPECT_EQ(hosts.count("node2"), 2u) << across.err;
  EXPECT_EQ(hosts.count("node3"), 2u) << across.err;
  auto alone = Sweep(Config("alone", 4, 1, false));
  ASSERT_EQ(alone.exit_code, 0) << alone.out << alone.err;
  const std::string query = "SELECT group_concat(printf('%.5f %.5f', loss, accuracy), ';') FROM "
                            "(SELECT * FROM evaluations WHERE trial_id=1 ORDER BY step)";
  const std::string on_cluster = JournalReader(dir_ + "/across/journal.db").Scalar(query);
  EXPECT_FALSE(on_cluster.empty());
  EXPECT_EQ(on_cluster, JournalReader(dir_ + "/alone/journal.db").Scalar(query));
}

// A node dies under a running trial (its processes killed, its namespace
// gone, so its remote shell no longer answers): the attempt fails, the
// node is found dead and left out, and the trial restarts from its last
// checkpoint on the other node and completes, nothing lost or duplicated.
TEST_F(ClusterTest, ANodeThatDiesMidTrialIsLeftOutAndTheTrialResumesElsewhere) {
  const std::string run = dir_ + "/dies";
  const pid_t sweep = SpawnSweep(Config("dies", 2, 1, true, 2000));
  ASSERT_GT(sweep, 0);
  const std::string node = NodeOfTrialOneAt();
  ASSERT_FALSE(node.empty()) << Log();
  const std::string other = node == "node2" ? "node3" : "node2";
  const double killed_at = Now();
  auto killed = RunCommand(Script() + " kill " + id_ + " " + node.substr(4));
  ASSERT_EQ(killed.exit_code, 0) << killed.err;
  ASSERT_TRUE(SweepSucceeded(sweep));
  const std::string log = Log();
  EXPECT_NE(log.find("did not answer its remote shell and gets no new trials"), std::string::npos) << log;
  EXPECT_NE(log.find("restart 1/2 from its last checkpoint"), std::string::npos) << log;
  const auto hosts = RankHosts(log).at("1");
  EXPECT_EQ(hosts.count(other), 2u) << log;  // the second attempt's ranks
  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations WHERE trial_id=1"), "2");  // steps 1000 and 2000, once each
  EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1"), "2000");
  EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=1"), "2");
  // The second attempt started from a checkpoint, not from step 1.
  EXPECT_NE(j.Scalar("SELECT MIN(step) FROM progress WHERE trial_id=1 AND attempt=2"), "20");
  // The figures docs/reliability.md quotes: from the node's death to the
  // restart journaled and to the next attempt's first progress, and where
  // that attempt resumed against the dead one's last report.
  const double restarted = std::stod(j.Scalar("SELECT MIN(at) FROM transitions WHERE trial_id=1 AND attempt=2"));
  const double progressed = std::stod(j.Scalar("SELECT MIN(at) FROM progress WHERE trial_id=1 AND attempt=2"));
  std::cout << "node death to restart " << restarted - killed_at << " s, to training again " << progressed - killed_at
            << " s; the dead attempt's last report at step "
            << j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1 AND attempt=1")
            << ", the next attempt's first at step "
            << j.Scalar("SELECT MIN(step) FROM progress WHERE trial_id=1 AND attempt=2") << "\n";
  EXPECT_LT(restarted - killed_at, 15);
}

// A node's link goes down under a running trial for longer than the hang
// timeout, then comes back: its ranks run on unseen (they reach neither the
// coordinator nor, through the remote shell, anyone else), the stall is
// named with the node, the trial restarts from its checkpoint on the other
// node, and what the cut-off attempt sends once the link is back is refused
// by its attempt number and stops it; nothing is lost or journaled twice.
TEST_F(ClusterTest, APartitionLongerThanTheHangTimeoutRestartsTheTrialElsewhereAndFencesTheOldAttempt) {
  const std::string run = dir_ + "/cut";
  const pid_t sweep = SpawnSweep(Config("cut", 2, 1, true, 2000, 4));
  ASSERT_GT(sweep, 0);
  const std::string node = NodeOfTrialOneAt();
  ASSERT_FALSE(node.empty()) << Log();
  const std::string other = node == "node2" ? "node3" : "node2";
  const double cut_at = Now();
  ASSERT_EQ(RunCommand(Script() + " cut " + id_ + " " + node.substr(4)).exit_code, 0);
  // The link stays down until the trial trains again on the other node.
  const bool moved = Waited([&] { return RankHosts(Log())["1"].count(other) == 2; });
  const double mended_at = Now();
  ASSERT_EQ(RunCommand(Script() + " mend " + id_ + " " + node.substr(4)).exit_code, 0);
  ASSERT_TRUE(moved) << Log();
  const std::string stale = "rejected message (trial 1 attempt 1 rank ";
  EXPECT_TRUE(Waited([&] { return Log().find(stale) != std::string::npos; })) << Log();
  ASSERT_TRUE(SweepSucceeded(sweep));
  const std::string log = Log();
  EXPECT_TRUE(std::regex_search(log, std::regex("hang: rank [01]/2 on host " + node + " \\(pid"))) << log;
  EXPECT_NE(log.find("did not answer its remote shell and gets no new trials"), std::string::npos) << log;
  EXPECT_NE(log.find("stale attempt (current is 2)"), std::string::npos) << log;
  // The cut-off ranks end once refused: nothing of the old attempt is left.
  const std::string ns = "psc" + id_ + "n" + node.substr(4);
  EXPECT_TRUE(Waited([&] { return RunCommand("ip netns pids " + ns).out.empty(); }))
      << RunCommand("ip netns pids " + ns + " | xargs -r ps -o pid,args -p").out;
  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT state FROM trials WHERE id=1"), "completed");
  EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=1"), "2");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations WHERE trial_id=1"), "2");
  EXPECT_EQ(j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1"), "2000");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) - COUNT(DISTINCT step) FROM progress WHERE trial_id=1"), "0");
  // The checkpoints are the second attempt's: the fence the old one obeys.
  EXPECT_EQ(testing_util::ReadText(run + "/checkpoints/trial-1/ATTEMPT"), "2\n");
  // The figures docs/reliability.md quotes: from the cut to the stall found
  // (the log line's time of day), to the restart journaled (after the
  // failed attempt's kill) and to training again elsewhere.
  const double found = LoggedAt(log, "hang: rank");
  const double restarted = std::stod(j.Scalar("SELECT MIN(at) FROM transitions WHERE trial_id=1 AND attempt=2"));
  const double progressed = std::stod(j.Scalar("SELECT MIN(at) FROM progress WHERE trial_id=1 AND attempt=2"));
  std::cout << "partition to stall found " << found - DayTime(cut_at) << " s (hang timeout 4 s), to restart "
            << restarted - cut_at << " s, to training again on " << other << " " << progressed - cut_at
            << " s; link down for " << mended_at - cut_at << " s; the old attempt's last report at step "
            << j.Scalar("SELECT MAX(step) FROM progress WHERE trial_id=1 AND attempt=1")
            << ", the next attempt's first at step "
            << j.Scalar("SELECT MIN(step) FROM progress WHERE trial_id=1 AND attempt=2") << "\n";
  EXPECT_LT(found - DayTime(cut_at), 15);
}

// Two trials at once on two nodes; one's node is cut off. Its restart finds
// no room (the other node is busy, the cut one does not answer), so it
// waits, started but for no slots, with no timeout running; when the link
// comes back, the node answers again and the trial starts there, from its
// checkpoint, and both complete.
TEST_F(ClusterTest, ATrialWithNoRoomLeftWaitsForItsNodeToComeBack) {
  const std::string run = dir_ + "/waits";
  const pid_t sweep = SpawnSweep(Config("waits", 2, 2, true, 3000, 4));  // progress logged every 300 steps
  ASSERT_GT(sweep, 0);
  const std::string node = NodeOfTrialOneAt(600);
  ASSERT_FALSE(node.empty()) << Log();
  ASSERT_EQ(RunCommand(Script() + " cut " + id_ + " " + node.substr(4)).exit_code, 0);
  const bool waits = Waited([&] { return Log().find("trial 1 attempt 2 waits for resources") != std::string::npos; });
  const bool other_running = Log().find("trial 2 completed") == std::string::npos;
  const double mended_at = Now();
  ASSERT_EQ(RunCommand(Script() + " mend " + id_ + " " + node.substr(4)).exit_code, 0);
  ASSERT_TRUE(waits) << Log();
  ASSERT_TRUE(SweepSucceeded(sweep));
  const std::string log = Log();
  EXPECT_NE(log.find("trial 1 attempt 2 found room and started"), std::string::npos) << log;
  // Back on its own node, when the other was still busy.
  if (other_running) EXPECT_EQ(RankHosts(log).at("1").count(node), 4u) << log;
  JournalReader j(run + "/journal.db");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM trials WHERE state='completed'"), "2");
  EXPECT_EQ(j.Scalar("SELECT attempt FROM trials WHERE id=1"), "2");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) FROM evaluations WHERE trial_id=1"), "2");
  EXPECT_EQ(j.Scalar("SELECT COUNT(*) - COUNT(DISTINCT step) FROM progress WHERE trial_id=1"), "0");
  const double progressed = std::stod(j.Scalar("SELECT MIN(at) FROM progress WHERE trial_id=1 AND attempt=2"));
  std::cout << "the link back to training again on " << node << ": " << progressed - mended_at << " s\n";
}

// A host file that cannot hold max_concurrent trials, and one that is not
// a host file, are refused before anything starts.
TEST_F(ClusterTest, AHostFileTooSmallOrMalformedIsRefused) {
  auto small = Sweep(Config("small", 4, 2, true));
  EXPECT_EQ(small.exit_code, 2) << small.err;
  EXPECT_NE(small.err.find("offers 4 slots, and max_concurrent 2 x trial.ranks 4 needs 8"), std::string::npos)
      << small.err;
  std::ofstream(dir_ + "/hosts") << "node2 slots=two\n";
  auto bad = Sweep(Config("bad", 2, 1, true));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find(dir_ + "/hosts:1: expected \"HOST slots=N\""), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/bad/journal.db"));
}

}  // namespace
}  // namespace polysweep
