// Tests of `polysweep top`'s frame (cli/top.h) on hand-built statuses.
#include "cli/top.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace polysweep {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

wire::TrialSummary* Add(wire::StatusReply* s, uint32_t id, const std::string& state, int step, int max_steps) {
  auto* t = s->add_trials();
  t->set_id(id);
  t->set_state(state);
  t->set_step(step);
  t->set_max_steps(max_steps);
  t->set_loss(0.5);
  (*t->mutable_hparams())["lr"] = "0.001";
  return t;
}

wire::StatusReply Running() {
  wire::StatusReply s;
  s.set_sweep("quick");
  s.set_state("running");
  s.set_metric("macro_f1");
  s.set_maximize(true);
  s.set_max_trials(6);
  s.set_created_at(1000);
  Add(&s, 1, "completed", 100, 100);
  Add(&s, 2, "pruned", 20, 100);
  auto* running = Add(&s, 3, "running", 50, 100);
  running->set_samples_per_sec(640);
  for (int r = 0; r < 2; ++r) {
    auto* rank = running->add_ranks();
    rank->set_rank(r);
    rank->set_host("node7");
    rank->set_pid(4000 + r);
    rank->set_step(50 - r * 10);
    rank->set_steps_per_sec(r == 0 ? 12.5 : 0);
    rank->set_idle_seconds(r == 0 ? 0.2 : 31);
    rank->set_stalled(r == 1);
  }
  Add(&s, 4, "pending", 0, 100)->set_attempt(0);
  return s;
}

TopFrame Plain(int width = 200, int height = 50) {
  TopFrame f;
  f.width = width;
  f.height = height;
  f.color = false;
  return f;
}

TEST(RenderTop, RunningTrialsFirstWithBarsAndOneLinePerRank) {
  const auto lines = Lines(RenderTop(Running(), "live coordinator at tcp://h:1", 1060, Plain()));
  ASSERT_GE(lines.size(), 12u);
  EXPECT_NE(lines[0].find("sweep quick (running, 1m00s)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("4 of 6 issued"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("640.0 samples/s"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("live coordinator at tcp://h:1"), std::string::npos);
  // Trial 3 (running) first, its ranks under it, then pending 4, then the
  // ended ones newest first.
  EXPECT_EQ(lines[6].find("    3  running"), 0u) << lines[6];
  EXPECT_NE(lines[6].find("[##########----------]  50%"), std::string::npos) << lines[6];
  EXPECT_NE(lines[6].find("50/100"), std::string::npos) << lines[6];
  EXPECT_NE(lines[7].find("rank 0  node7 pid 4000  step 50  12.5 steps/s  idle 0.2 s"), std::string::npos) << lines[7];
  EXPECT_EQ(lines[7].find("STALLED"), std::string::npos);
  EXPECT_NE(lines[8].find("rank 1  node7 pid 4001  step 40  0.0 steps/s  idle 31.0 s  STALLED"), std::string::npos)
      << lines[8];
  EXPECT_EQ(lines[9].find("    4  pending"), 0u) << lines[9];
  EXPECT_EQ(lines[10].find("    2  pruned"), 0u) << lines[10];
  EXPECT_EQ(lines[11].find("    1  completed"), 0u) << lines[11];
  EXPECT_NE(lines[11].find("[####################] 100%"), std::string::npos) << lines[11];
}

TEST(RenderTop, PlainFramesHaveNoEscapesAndColouredOnesHighlightStalls) {
  const std::string plain = RenderTop(Running(), "src", 1060, Plain());
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  TopFrame color = Plain();
  color.color = true;
  const std::string colored = RenderTop(Running(), "src", 1060, color);
  EXPECT_NE(colored.find("\x1b[1;37;41m STALLED \x1b[0m"), std::string::npos);
  EXPECT_NE(colored.find("\x1b[32mrunning"), std::string::npos);
}

TEST(RenderTop, FitsTheTerminal) {
  wire::StatusReply s = Running();
  for (uint32_t id = 5; id < 60; ++id) Add(&s, id, "completed", 100, 100);
  s.set_max_trials(60);
  TopFrame small = Plain(50, 20);
  small.color = true;
  const auto lines = Lines(RenderTop(s, "src", 1060, small));
  EXPECT_LE(lines.size(), 20u);
  for (const auto& line : lines) {
    std::string visible;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\x1b') {
        i = line.find('m', i);
        continue;
      }
      visible += line[i];
    }
    EXPECT_LE(visible.size(), 50u) << line;
  }
  EXPECT_NE(lines.back().find("more trials"), std::string::npos) << lines.back();
}

}  // namespace
}  // namespace polysweep
