// Tests of the local mpirun launcher (launcher/launcher.h). A fake "mpirun"
// shell script stands in for Open MPI: it exports the -x pairs, skips the
// other mpirun flags and execs the worker argv, so the tests control exactly
// which processes run.
#include "launcher/host_slots.h"
#include "launcher/launcher.h"
#include "launcher/process_group.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

namespace polysweep {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kFakeMpirun = R"(#!/bin/sh
# fake mpirun: exports -x KEY=VALUE, skips the other flags, execs the rest.
while [ $# -gt 0 ]; do
  case "$1" in
    -np|--bind-to) shift 2 ;;
    --mca) shift 3 ;;
    --oversubscribe) shift ;;
    --host) shift 2 ;;
    -x) export "$2"; shift 2 ;;
    *) break ;;
  esac
done
exec "$@"
)";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Waits until `done()` or the deadline; returns done().
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// True when no process `pid` is running: /proc/PID is gone or a zombie.
bool ProcessGone(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return true;
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z' ||
         stat[paren + 2] == 'X';
}

class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "launcher_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    mpirun_ = dir_ + "/mpirun";
    std::ofstream(mpirun_) << kFakeMpirun;
    ASSERT_EQ(::chmod(mpirun_.c_str(), 0755), 0);
    spec_.ranks = 2;
    spec_.log_path = dir_ + "/trial.log";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Launches `script` (sh -c) through the fake mpirun.
  std::unique_ptr<TrialProcess> Launch(const std::string& script) {
    spec_.worker_argv = {"/bin/sh", "-c", script};
    auto p = MakeLocalMpiLauncher(mpirun_)->Launch(spec_);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? std::move(*p) : nullptr;
  }

  // The pid a script wrote to `name` (written via rename, so never partial).
  pid_t WaitForPid(const std::string& name) {
    const std::string path = dir_ + "/" + name;
    EXPECT_TRUE(WaitFor([&] { return fs::exists(path); })) << path << " never appeared";
    return static_cast<pid_t>(std::atol(ReadAll(path).c_str()));
  }

  std::optional<ExitInfo> PollUntilExit(TrialProcess& p, std::chrono::milliseconds timeout = 10s) {
    std::optional<ExitInfo> exit;
    WaitFor([&] { return (exit = p.Poll()).has_value(); }, timeout);
    return exit;
  }

  std::string dir_;
  std::string mpirun_;
  LaunchSpec spec_;
};

TEST(LocalMpiArgv, HasRanksEnvAndWorkerLast) {
  LaunchSpec spec;
  spec.ranks = 3;
  spec.worker_argv = {"/opt/bin/polysweep-worker", "--coordinator", "tcp://127.0.0.1:5000", "--trial", "7"};
  spec.env = {{"OMP_NUM_THREADS", "2"}, {"POLYSWEEP_TRIAL", "7"}};
  const auto argv = LocalMpiArgv("/usr/bin/mpirun", spec);
  ASSERT_GE(argv.size(), 3u + 4u + 5u);
  EXPECT_EQ(argv[0], "/usr/bin/mpirun");
  EXPECT_EQ(argv[1], "-np");
  EXPECT_EQ(argv[2], "3");
  // Each env pair as "-x KEY=VALUE".
  for (const std::string pair : {"OMP_NUM_THREADS=2", "POLYSWEEP_TRIAL=7"}) {
    auto it = std::find(argv.begin(), argv.end(), pair);
    ASSERT_NE(it, argv.end()) << pair;
    EXPECT_EQ(*(it - 1), "-x");
  }
  // The worker argv, unchanged, at the very end.
  ASSERT_EQ(std::vector<std::string>(argv.end() - 5, argv.end()), spec.worker_argv);
  // Nothing after the -x pairs but the worker.
  EXPECT_EQ(argv[argv.size() - 6], "POLYSWEEP_TRIAL=7");
}

TEST(LocalMpiArgv, NoEnvMeansNoDashX) {
  LaunchSpec spec;
  spec.ranks = 1;
  spec.worker_argv = {"w"};
  const auto argv = LocalMpiArgv("mpirun", spec);
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "-x"), 0);
  EXPECT_EQ(argv.back(), "w");
  EXPECT_EQ(argv[2], "1");
}

TEST(ExitInfo, Describe) {
  EXPECT_EQ(ExitInfo::Code(0).Describe(), "exit code 0");
  EXPECT_EQ(ExitInfo::Code(3).Describe(), "exit code 3");
  EXPECT_TRUE(ExitInfo::Code(0).ok());
  EXPECT_FALSE(ExitInfo::Code(3).ok());
  const ExitInfo killed{0, SIGKILL};
  EXPECT_FALSE(killed.ok());
  EXPECT_EQ(killed.Describe().rfind("killed by signal 9", 0), 0u) << killed.Describe();
}

TEST_F(LauncherTest, ExitCodeFromEnvPassedThroughDashX) {
  spec_.env = {{"EXIT_CODE", "7"}, {"GREETING", "hello world"}};
  auto p = Launch("echo \"out: $GREETING\"; echo 'err: oops' >&2; exit $EXIT_CODE");
  ASSERT_NE(p, nullptr);
  EXPECT_GT(p->pid(), 0);
  auto exit = PollUntilExit(*p);
  ASSERT_TRUE(exit.has_value()) << "trial did not end";
  EXPECT_EQ(exit->exit_code, 7);
  EXPECT_EQ(exit->signal, 0);
  EXPECT_FALSE(exit->ok());
  // Poll keeps answering the same once ended.
  ASSERT_TRUE(p->Poll().has_value());
  EXPECT_EQ(p->Poll()->exit_code, 7);
  // The log has both streams.
  const std::string log = ReadAll(spec_.log_path);
  EXPECT_NE(log.find("out: hello world\n"), std::string::npos) << log;
  EXPECT_NE(log.find("err: oops\n"), std::string::npos) << log;
}

TEST_F(LauncherTest, PollIsEmptyWhileRunning) {
  const std::string go = dir_ + "/go";
  auto p = Launch("echo $$ > " + dir_ + "/main.tmp && mv " + dir_ + "/main.tmp " + dir_ + "/main.pid; " +
                  "while [ ! -e " + go + " ]; do sleep 0.01; done; exit 3");
  ASSERT_NE(p, nullptr);
  const pid_t main = WaitForPid("main.pid");
  EXPECT_EQ(main, p->pid());  // the fake mpirun exec'd the worker
  EXPECT_FALSE(p->Poll().has_value());
  EXPECT_FALSE(ProcessGone(main));
  EXPECT_FALSE(p->Poll().has_value());
  std::ofstream(go) << "";
  auto exit = PollUntilExit(*p);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_TRUE(ProcessGone(main));
}

TEST_F(LauncherTest, SuccessfulTrialIsOk) {
  auto p = Launch("exit 0");
  ASSERT_NE(p, nullptr);
  auto exit = PollUntilExit(*p);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->ok());
  EXPECT_EQ(exit->Describe(), "exit code 0");
}

// Starts a background child, records both pids, and waits.
std::string TreeScript(const std::string& dir, const std::string& child_prefix = "") {
  return child_prefix + "sleep 300 & echo $! > " + dir + "/child.tmp && mv " + dir + "/child.tmp " + dir +
         "/child.pid; wait";
}

// A rank as Open MPI 4 starts it: in a process group of its own (so that a
// SIGSTOP reaches only it), still in its launcher's session. It ignores
// SIGHUP, which the kernel sends a stopped process whose group its
// launcher's end orphans: the tests see what the launcher code does, not
// what that signal might do. Perl is in every Debian (perl-base is essential).
std::string OwnGroupRankScript(const std::string& dir, const std::string& then = "wait") {
  return "perl -e '$SIG{HUP} = \"IGNORE\"; setpgrp(0, 0); exec @ARGV' sleep 300 & echo $! > " + dir +
         "/child.tmp && mv " + dir + "/child.tmp " + dir + "/child.pid; " + then;
}

pid_t GroupOf(pid_t pid) { return getpgid(pid); }

TEST_F(LauncherTest, KillTerminatesWholeProcessGroup) {
  auto p = Launch(TreeScript(dir_));
  ASSERT_NE(p, nullptr);
  const pid_t child = WaitForPid("child.pid");
  ASSERT_GT(child, 0);
  ASSERT_FALSE(ProcessGone(child));
  EXPECT_FALSE(p->Poll().has_value());

  const auto start = Clock::now();
  const ExitInfo exit = p->Kill(/*grace_ms=*/5000);
  const auto took = Clock::now() - start;
  EXPECT_EQ(exit.signal, SIGTERM) << exit.Describe();
  EXPECT_LT(took, 5000ms);  // it went on TERM, well within the grace
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(child); }, 5s)) << "child " << child << " survived";
  EXPECT_TRUE(ProcessGone(p->pid()));
  // Kill and Poll after the end report the same exit.
  EXPECT_EQ(p->Kill(100).signal, SIGTERM);
  ASSERT_TRUE(p->Poll().has_value());
  EXPECT_EQ(p->Poll()->signal, SIGTERM);
}

TEST_F(LauncherTest, KillReachesChildThatIgnoresTerm) {
  // The launcher process dies on TERM; its child ignores TERM and must still go.
  auto p = Launch("(trap '' TERM; exec sleep 300) & echo $! > " + dir_ + "/child.tmp && mv " + dir_ +
                  "/child.tmp " + dir_ + "/child.pid; wait");
  ASSERT_NE(p, nullptr);
  const pid_t child = WaitForPid("child.pid");
  ASSERT_FALSE(ProcessGone(child));
  const auto start = Clock::now();
  p->Kill(5000);
  EXPECT_LT(Clock::now() - start, 5000ms);
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(child); }, 5s)) << "child " << child << " survived";
}

TEST_F(LauncherTest, KillEscalatesToSigkillAfterGrace) {
  auto p = Launch(TreeScript(dir_, "trap '' TERM; "));
  ASSERT_NE(p, nullptr);
  const pid_t child = WaitForPid("child.pid");
  const auto start = Clock::now();
  const ExitInfo exit = p->Kill(/*grace_ms=*/300);
  const auto took = Clock::now() - start;
  EXPECT_EQ(exit.signal, SIGKILL) << exit.Describe();
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3000ms);
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(child); }, 5s)) << "child " << child << " survived";
}

TEST_F(LauncherTest, ExitOfLauncherKillsLeftoverRanks) {
  // The launcher process exits while a child still runs: Poll() reports the
  // exit and the child must not outlive the trial.
  const std::string go = dir_ + "/go";
  auto p = Launch("sleep 300 & echo $! > " + dir_ + "/child.tmp && mv " + dir_ + "/child.tmp " + dir_ +
                  "/child.pid; while [ ! -e " + go + " ]; do sleep 0.01; done; exit 5");
  ASSERT_NE(p, nullptr);
  const pid_t child = WaitForPid("child.pid");
  std::ofstream(go) << "";
  auto exit = PollUntilExit(*p);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 5);
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(child); }, 5s)) << "child " << child << " survived";
}

// The hang path: a stopped rank in its own process group. The launcher dies
// on TERM; the rank, which its group's TERM never reached, must be gone by
// the time Kill returns, not some time later: the caller records the attempt
// as over and starts the next one right after.
TEST_F(LauncherTest, KillEndsAStoppedRankInAGroupOfItsOwnBeforeReturning) {
  auto p = Launch(OwnGroupRankScript(dir_));
  ASSERT_NE(p, nullptr);
  const pid_t rank = WaitForPid("child.pid");
  ASSERT_TRUE(WaitFor([&] { return GroupOf(rank) == rank; })) << "the rank never moved to its own group";
  ASSERT_NE(GroupOf(rank), GroupOf(p->pid()));
  ASSERT_EQ(kill(rank, SIGSTOP), 0);
  p->Kill(/*grace_ms=*/2000);
  EXPECT_TRUE(ProcessGone(rank)) << "rank " << rank << " outlived Kill()";
}

TEST_F(LauncherTest, KillEscalationEndsARankInAGroupOfItsOwnBeforeReturning) {
  // The trap first: set after the rank's pid file appears, a Kill in between
  // (a loaded machine) would end the launcher on TERM.
  auto p = Launch("trap '' TERM; " + OwnGroupRankScript(dir_));
  ASSERT_NE(p, nullptr);
  const pid_t rank = WaitForPid("child.pid");
  ASSERT_TRUE(WaitFor([&] { return GroupOf(rank) == rank; })) << "the rank never moved to its own group";
  ASSERT_EQ(kill(rank, SIGSTOP), 0);
  EXPECT_EQ(p->Kill(/*grace_ms=*/300).signal, SIGKILL);
  EXPECT_TRUE(ProcessGone(rank)) << "rank " << rank << " outlived Kill()";
}

// The launcher exits by itself while a rank in its own group runs on: when
// Poll() reports the exit, the rank is already gone.
TEST_F(LauncherTest, ExitOfLauncherEndsARankInAGroupOfItsOwnBeforePollReportsIt) {
  const std::string go = dir_ + "/go";
  auto p = Launch(OwnGroupRankScript(dir_, "while [ ! -e " + go + " ]; do sleep 0.01; done; exit 3"));
  ASSERT_NE(p, nullptr);
  const pid_t rank = WaitForPid("child.pid");
  ASSERT_TRUE(WaitFor([&] { return GroupOf(rank) == rank; })) << "the rank never moved to its own group";
  std::ofstream(go) << "";
  auto exit = PollUntilExit(*p);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_TRUE(ProcessGone(rank)) << "rank " << rank << " outlived its launcher";
}

TEST_F(LauncherTest, DestructorKillsRunningTrial) {
  auto p = Launch(TreeScript(dir_));
  ASSERT_NE(p, nullptr);
  const pid_t child = WaitForPid("child.pid");
  const pid_t main = p->pid();
  p.reset();
  EXPECT_TRUE(ProcessGone(main));
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(child); }, 5s)) << "child " << child << " survived";
}

TEST_F(LauncherTest, MissingMpirunIsClearError) {
  const std::string missing = dir_ + "/no/such/mpirun";
  spec_.worker_argv = {"/bin/true"};
  auto p = MakeLocalMpiLauncher(missing)->Launch(spec_);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("cannot run " + missing), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("No such file"), std::string::npos) << p.status().message();

  // Found but not executable.
  const std::string plain = dir_ + "/not-executable";
  std::ofstream(plain) << "#!/bin/sh\n";
  auto q = MakeLocalMpiLauncher(plain)->Launch(spec_);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find(plain), std::string::npos) << q.status().message();
}

TEST_F(LauncherTest, UnwritableLogIsClearError) {
  spec_.log_path = dir_ + "/missing-dir/trial.log";
  spec_.worker_argv = {"/bin/true"};
  auto p = MakeLocalMpiLauncher(mpirun_)->Launch(spec_);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find(spec_.log_path), std::string::npos) << p.status().message();
}

TEST_F(LauncherTest, LogIsAppendedAcrossLaunches) {
  auto a = Launch("echo first");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(PollUntilExit(*a).has_value());
  auto b = Launch("echo second");
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(PollUntilExit(*b).has_value());
  EXPECT_EQ(ReadAll(spec_.log_path), "first\nsecond\n");
}

// Adoption: a second launcher (standing for a restarted coordinator) finds a
// running trial by its handle and its command line, watches it and ends it.
class AdoptTest : public LauncherTest {
 protected:
  std::unique_ptr<TrialProcess> LaunchMarked(const std::string& script, MpiHosts hosts = {}) {
    spec_.worker_argv = {"/bin/sh", "-c", script, "polysweep-worker", "--trial", "3", "--attempt", "1"};
    auto p = MakeLocalMpiLauncher(mpirun_, std::move(hosts))->Launch(spec_);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? std::move(*p) : nullptr;
  }
  const std::vector<std::string> marks_ = {"--trial", "3", "--attempt", "1"};
};

TEST_F(AdoptTest, AdoptsARunningTrialAndKillsItsWholeGroup) {
  auto original = LaunchMarked(TreeScript(dir_));
  ASSERT_NE(original, nullptr);
  const pid_t child = WaitForPid("child.pid");
  const std::string handle = original->handle();
  EXPECT_EQ(handle.rfind("local:", 0), 0u) << handle;
  EXPECT_NE(handle.find(":" + std::to_string(original->pid())), std::string::npos) << handle;

  auto launcher = MakeLocalMpiLauncher(mpirun_);
  auto adopted = launcher->Adopt(handle, marks_);
  ASSERT_NE(adopted, nullptr);
  EXPECT_EQ(adopted->handle(), handle);
  EXPECT_FALSE(adopted->Poll().has_value());
  const ExitInfo exit = adopted->Kill(2000);
  EXPECT_TRUE(exit.adopted);
  EXPECT_EQ(exit.signal, SIGTERM);
  EXPECT_TRUE(ProcessGone(child));
  EXPECT_TRUE(ProcessGone(original->pid()));
  EXPECT_TRUE(adopted->Poll().has_value());
  ASSERT_TRUE(PollUntilExit(*original).has_value());  // reaps the zombie
}

TEST_F(AdoptTest, PollReportsTheEndOfAnAdoptedTrial) {
  const std::string go = dir_ + "/go";
  auto original =
      LaunchMarked("echo $$ > " + dir_ + "/child.pid; while [ ! -e " + go + " ]; do sleep 0.01; done; exit 0");
  ASSERT_NE(original, nullptr);
  // Adopted once it runs the marked command line (right after the launch it
  // may not have exec'd it yet, and adoption rightly refuses it then).
  WaitForPid("child.pid");
  auto adopted = MakeLocalMpiLauncher(mpirun_)->Adopt(original->handle(), marks_);
  ASSERT_NE(adopted, nullptr);
  EXPECT_FALSE(adopted->Poll().has_value());
  std::ofstream(go) << "";
  // The original is never polled here, so the leader stays a zombie: a
  // zombie is not a live member.
  auto exit = PollUntilExit(*adopted);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->adopted);
  EXPECT_TRUE(exit->ok());
  EXPECT_NE(exit->Describe().find("exit status unknown"), std::string::npos) << exit->Describe();
  ASSERT_TRUE(PollUntilExit(*original).has_value());
}

TEST_F(AdoptTest, KillEscalatesForAnAdoptedTrialThatIgnoresTerm) {
  auto original = LaunchMarked(TreeScript(dir_, "trap '' TERM; "));
  ASSERT_NE(original, nullptr);
  const pid_t child = WaitForPid("child.pid");
  auto adopted = MakeLocalMpiLauncher(mpirun_)->Adopt(original->handle(), marks_);
  ASSERT_NE(adopted, nullptr);
  // The shell and its child ignore TERM: only KILL ends them.
  const ExitInfo exit = adopted->Kill(300);
  EXPECT_EQ(exit.signal, SIGKILL);
  EXPECT_TRUE(ProcessGone(child));
  EXPECT_TRUE(ProcessGone(original->pid()));
  ASSERT_TRUE(PollUntilExit(*original).has_value());
}

TEST_F(AdoptTest, AnAdoptedTrialsRankInAGroupOfItsOwnIsFoundAndEnded) {
  auto original = LaunchMarked(OwnGroupRankScript(dir_, "trap '' TERM; wait"));
  ASSERT_NE(original, nullptr);
  const pid_t rank = WaitForPid("child.pid");
  ASSERT_TRUE(WaitFor([&] { return GroupOf(rank) == rank; })) << "the rank never moved to its own group";
  auto adopted = MakeLocalMpiLauncher(mpirun_)->Adopt(original->handle(), marks_);
  ASSERT_NE(adopted, nullptr);
  ASSERT_EQ(kill(rank, SIGSTOP), 0);
  EXPECT_EQ(adopted->Kill(300).signal, SIGKILL);
  EXPECT_TRUE(ProcessGone(rank)) << "rank " << rank << " outlived Kill()";
  EXPECT_TRUE(ProcessGone(original->pid()));
  ASSERT_TRUE(PollUntilExit(*original).has_value());
}

TEST_F(AdoptTest, RefusesWhatIsNotTheTrial) {
  auto original = LaunchMarked(TreeScript(dir_));
  ASSERT_NE(original, nullptr);
  WaitForPid("child.pid");
  auto launcher = MakeLocalMpiLauncher(mpirun_);
  // Another attempt of the trial (a reused pid would look like this too).
  EXPECT_EQ(launcher->Adopt(original->handle(), {"--trial", "3", "--attempt", "2"}), nullptr);
  // Another host's or another backend's handle, and nonsense.
  EXPECT_EQ(launcher->Adopt("local:no-such-host:" + std::to_string(original->pid()), marks_), nullptr);
  EXPECT_EQ(launcher->Adopt("slurm:123.4", marks_), nullptr);
  EXPECT_EQ(launcher->Adopt(original->handle() + "x", marks_), nullptr);
  original->Kill(2000);
  // A group that is gone cannot be adopted.
  EXPECT_EQ(launcher->Adopt(original->handle(), marks_), nullptr);
}

// Scanning /proc while processes come and go: a process that exits between
// the open of its /proc file and the read fails the read (ESRCH). The scan
// skips it; it used to throw from std::ifstream and end the coordinator.
TEST(ProcessGroup, ScansSurviveProcessesExitingMidScanAndNameOnlyTheLiving) {
  std::atomic<bool> done{false};
  std::thread churn([&] {
    while (!done) {
      const pid_t child = fork();
      if (child == 0) _exit(0);
      if (child > 0) waitpid(child, nullptr, 0);
    }
  });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int scans = 0;
  while (std::chrono::steady_clock::now() < until) {
    EXPECT_TRUE(LiveMembers(999999999).empty());  // no such group
    ++scans;
  }
  done = true;
  churn.join();
  EXPECT_GT(scans, 0);
  EXPECT_FALSE(LiveMembers(getpgrp()).empty());  // this test is in its own group
  EXPECT_TRUE(CommandLineHas(getpid(), {}));
  EXPECT_FALSE(CommandLineHas(getpid(), {"--no-such-argument-here"}));
  const pid_t gone = fork();
  if (gone == 0) _exit(0);
  ASSERT_GT(gone, 0);
  waitpid(gone, nullptr, 0);
  EXPECT_FALSE(CommandLineHas(gone, {}));
}

// On a host file's slots: a trial holds its slots while it runs and gives
// them back when it ends; its handle names them, so a restarted coordinator
// that adopts it takes the same slots again.
TEST_F(AdoptTest, ATrialOnAHostFilesSlotsHoldsThemUntilItEndsAndIsAdoptedOntoThem) {
  auto pool = std::make_shared<SlotPool>(std::vector<HostSlots>{{"a", 2}, {"b", 2}});
  const std::string go = dir_ + "/go";
  auto original = LaunchMarked("echo $$ > " + dir_ + "/child.pid; while [ ! -e " + go + " ]; do sleep 0.01; done",
                               MpiHosts{pool, ""});
  ASSERT_NE(original, nullptr);
  WaitForPid("child.pid");
  EXPECT_EQ(pool->free_slots("a") + pool->free_slots("b"), 2);
  const std::string handle = original->handle();
  EXPECT_NE(handle.find("|a:2"), std::string::npos) << handle;
  auto second = std::make_shared<SlotPool>(std::vector<HostSlots>{{"a", 2}, {"b", 2}});
  auto adopted = MakeLocalMpiLauncher(mpirun_, MpiHosts{second, ""})->Adopt(handle, marks_);
  ASSERT_NE(adopted, nullptr);
  EXPECT_EQ(adopted->handle(), handle);
  EXPECT_EQ(second->free_slots("a"), 0);  // the restarted coordinator's pool
  std::ofstream(go) << "";
  ASSERT_TRUE(PollUntilExit(*original).has_value());
  EXPECT_EQ(pool->free_slots("a"), 2);
  ASSERT_TRUE(PollUntilExit(*adopted).has_value());
  EXPECT_EQ(second->free_slots("a"), 2);
}

}  // namespace
}  // namespace polysweep
