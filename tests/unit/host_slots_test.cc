// trial.hosts: Open MPI host files read and refused, concurrent trials
// packed onto disjoint slots, and the mpirun command that places them.
#include "launcher/host_slots.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "launcher/choose.h"
#include "launcher/launcher.h"

namespace polysweep {
namespace {

TEST(HostFile, ReadsOpenMpisFormat) {
  auto hosts = ParseHostFile("# the test nodes\nnode1 slots=4\n\nnode2   # one slot\nnode1 slots=2 max_slots=8\n",
                             "hosts");
  ASSERT_TRUE(hosts.ok()) << hosts.status().message();
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].host, "node1");
  EXPECT_EQ((*hosts)[0].slots, 6);  // listed twice: its slots add
  EXPECT_EQ((*hosts)[1].slots, 1);
  const std::pair<const char*, const char*> bad[] = {
      {"node1 slots=two\n", "hosts:1: expected \"HOST slots=N\" (N at least 1), got \"slots=two\""},
      {"node1\nnode2 slots=0\n", "hosts:2: expected \"HOST slots=N\" (N at least 1), got \"slots=0\""},
      {"node1 cpus=4\n", "hosts:1: expected \"HOST slots=N\" (N at least 1), got \"cpus=4\""},
      {"a:b slots=1\n", "hosts:1: a host name holds no ':' or ',': \"a:b\""},
      {"# nothing\n", "hosts: no hosts (one \"HOST slots=N\" per line)"},
  };
  for (const auto& [text, why] : bad) {
    auto r = ParseHostFile(text, "hosts");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().message(), why);
  }
  EXPECT_FALSE(LoadHostFile("/nonexistent/hosts").ok());
}

TEST(SlotPool, PacksTrialsOntoDisjointSlotsAndFewestHosts) {
  SlotPool pool({{"a", 4}, {"b", 2}, {"c", 2}});
  EXPECT_EQ(pool.total(), 8);
  // 2 ranks: the fullest host that fits (b), leaving a's 4 for a larger trial.
  auto two = pool.Reserve(2);
  ASSERT_TRUE(two);
  EXPECT_EQ(PlacementText(*two), "b:2");
  auto four = pool.Reserve(4);
  ASSERT_TRUE(four);
  EXPECT_EQ(PlacementText(*four), "a:4");
  EXPECT_FALSE(pool.Reserve(3));  // 2 free
  pool.Release(*four);
  // 5 ranks fit on no host: the emptiest first, a then c.
  auto five = pool.Reserve(5);
  ASSERT_TRUE(five);
  EXPECT_EQ(PlacementText(*five), "a:4,c:1");
  EXPECT_EQ(pool.free_slots("c"), 1);
  pool.Release(*two);
  pool.Release(*five);
  EXPECT_EQ(pool.free_slots("a"), 4);
  // A trial found running again takes its own slots back, once.
  auto placed = ParsePlacement("a:2,c:2");
  ASSERT_TRUE(placed.ok());
  EXPECT_TRUE(pool.ReserveExactly(*placed));
  EXPECT_FALSE(pool.ReserveExactly(*placed));  // c is full now
  EXPECT_FALSE(pool.ReserveExactly({{"z", 1}}));
  EXPECT_FALSE(ParsePlacement("a:x").ok());
  // A host found down gets no new trial, even with free slots.
  pool.Release(*placed);
  EXPECT_TRUE(pool.MarkDown("a"));
  EXPECT_FALSE(pool.MarkDown("a"));
  EXPECT_EQ(pool.free_slots("a"), 0);
  auto without = pool.Reserve(4);
  ASSERT_TRUE(without);
  EXPECT_EQ(PlacementText(*without), "b:2,c:2");
  EXPECT_FALSE(pool.Reserve(1));
  EXPECT_FALSE(pool.ReserveExactly({{"a", 1}}));
  EXPECT_EQ(pool.down_slots(), 4);
  EXPECT_EQ(pool.down_hosts(), std::vector<std::string>{"a"});
  // A host that answers again is given trials again.
  pool.Release(*without);
  EXPECT_TRUE(pool.MarkUp("a"));
  EXPECT_FALSE(pool.MarkUp("a"));
  EXPECT_EQ(pool.down_slots(), 0);
  EXPECT_EQ(pool.free_slots("a"), 4);
  auto back = pool.Reserve(4);
  ASSERT_TRUE(back);
  EXPECT_EQ(PlacementText(*back), "a:4");
  EXPECT_FALSE(ParsePlacement("").ok());
}

TEST(SlotPool, SubnetOfKnowsLoopbackAndStrangersHaveNone) {
  EXPECT_EQ(SubnetOf("127.0.0.1"), "");
  EXPECT_EQ(SubnetOf("*"), "");
  EXPECT_EQ(SubnetOf("192.0.2.77"), "");  // TEST-NET-1: no interface of this host
}

TEST(LocalMpiArgv, PlacesRanksOnTheirHostsAndKeepsTcpToTheSubnet) {
  LaunchSpec spec;
  spec.ranks = 4;
  spec.worker_argv = {"polysweep-worker"};
  const auto argv = LocalMpiArgv("mpirun", spec, "a:2,b:2", "10.1.2.0/24");
  auto has = [&](const std::vector<std::string>& run) {
    return std::search(argv.begin(), argv.end(), run.begin(), run.end()) != argv.end();
  };
  EXPECT_TRUE(has({"--host", "a:2,b:2"}));
  EXPECT_TRUE(has({"--mca", "btl_tcp_if_include", "10.1.2.0/24"}));
  EXPECT_TRUE(has({"--mca", "oob_tcp_if_include", "10.1.2.0/24"}));
  EXPECT_FALSE(has({"--oversubscribe"}));  // the slots are the host file's
  EXPECT_EQ(argv.back(), "polysweep-worker");
  const auto here = LocalMpiArgv("mpirun", spec);
  EXPECT_NE(std::find(here.begin(), here.end(), "--oversubscribe"), here.end());
  EXPECT_EQ(std::find(here.begin(), here.end(), "--host"), here.end());
}

// trial.hosts places mpirun's ranks; Slurm and agents place their own.
TEST(ChooseLauncher, HostsAreForMpirunAndMustHoldTheConcurrentTrials) {
  TrialResources trial;
  trial.launcher = "agents";
  trial.hosts = "/nonexistent/hosts";
  auto agents = MakeTrialLauncher(trial, "mpirun");
  ASSERT_FALSE(agents.ok());
  EXPECT_NE(agents.status().message().find("trial.hosts places the ranks of trial.launcher mpirun"),
            std::string::npos)
      << agents.status().message();
  trial.launcher = "mpirun";
  auto missing = MakeTrialLauncher(trial, "mpirun");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("trial.hosts: /nonexistent/hosts"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace polysweep
