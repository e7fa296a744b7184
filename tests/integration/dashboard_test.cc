// The dashboard in real headless Chromium: served by a running sweep, its
// curves appear and grow as the sweep advances, with no errors on the page;
// a request without the token is refused; `polysweep report` writes a file
// that draws the same without a server. Screenshots go to
// build/test-artifacts/ for a person to look at.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "command.h"

namespace polysweep {
namespace {

using nlohmann::json;
using testing_util::Quote;
using testing_util::RunCommand;

std::string Chromium(const std::string& profile) {
  // As the machine's notes say: no sandbox as root, and no background
  // networking on a closed network.
  return "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
         "--disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage "
         "--user-data-dir=" + Quote(profile) + " --window-size=1400,1900 --virtual-time-budget=6000 ";
}

// What the page reports about itself (its #dashboard-state element) after
// loading `url` and running its scripts.
json PageState(const std::string& url, const std::string& profile, std::string* dom) {
  auto r = RunCommand("timeout 90 " + Chromium(profile) + "--dump-dom " + Quote(url));
  *dom = r.out;
  const std::string open = "<pre id=\"dashboard-state\" hidden=\"\">";
  const size_t at = r.out.find(open);
  if (at == std::string::npos) return json();
  const size_t end = r.out.find("</pre>", at);
  std::string text = r.out.substr(at + open.size(), end - at - open.size());
  for (auto [from, to] : {std::pair{"&quot;", "\""}, std::pair{"&lt;", "<"}, std::pair{"&gt;", ">"}, std::pair{"&amp;", "&"}}) {
    for (size_t p = 0; (p = text.find(from, p)) != std::string::npos; p += std::strlen(to)) text.replace(p, std::strlen(from), to);
  }
  return text.empty() ? json() : json::parse(text, nullptr, false);
}

void Screenshot(const std::string& url, const std::string& profile, const std::string& name) {
  std::filesystem::create_directories(POLYSWEEP_ARTIFACTS_DIR);
  const std::string path = std::string(POLYSWEEP_ARTIFACTS_DIR) + "/" + name;
  std::filesystem::remove(path);
  RunCommand("timeout 90 " + Chromium(profile) + "--screenshot=" + Quote(path) + " " + Quote(url));
  EXPECT_TRUE(std::filesystem::exists(path)) << "no screenshot at " << path;
}

TEST(Dashboard, CurvesAppearAndGrowInChromiumAndTheReportDrawsTheSame) {
  ASSERT_EQ(RunCommand("command -v chromium").exit_code, 0) << "chromium is not installed (scripts/install-deps installs it)";
  const std::string dir = testing_util::FreshDir("dashboard"), run = dir + "/run";
  const std::string config = dir + "/dash.yaml";
  std::ofstream(config) << "name: dash\noutput_dir: " << run << "\n"
                        << "data: {files: [" << POLYSWEEP_DEFAULT_DATA << "], group_field: group, "
                        << "max_per_language: 60, vocab_size: 2000}\n"
                        << "model: {layers: 1, hidden: 32, heads: 2, ffn: 64, max_length: 32}\n"
                        << "trial: {ranks: 2, threads_per_rank: 1}\n"
                        << "max_concurrent: 1\n"
                        << "search: {algorithm: random, seed: 2, space: {lr: {type: loguniform, low: 1.0e-3, "
                        << "high: 6.0e-3}}}\n"
                        << "metric: {name: macro_f1}\n"
                        << "budget: {max_trials: 2, max_steps: 1500, eval_every: 300, log_every: 5}\n";
  const pid_t pid = testing_util::Spawn({POLYSWEEP_BIN, "sweep", config}, dir + "/sweep.log");
  ASSERT_GT(pid, 0);
  struct Reaper {
    pid_t pid;
    bool reaped = false;
    ~Reaper() {
      if (!reaped) testing_util::WaitFor(pid, 0);
    }
  } reaper{pid};

  // The sweep prints the dashboard's URL and writes it, token included, for its owner only.
  std::string url;
  for (int i = 0; i < 1200 && url.empty(); ++i) {
    std::ifstream(run + "/dashboard.url") >> url;
    if (url.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << url;
  EXPECT_EQ(std::filesystem::status(run + "/dashboard.url").permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);

  // Without the token: refused, and the page says how to get in.
  const std::string bare = url.substr(0, url.find("?"));
  std::string dom;
  PageState(bare, dir + "/profile-0", &dom);
  EXPECT_NE(dom.find("open the URL with ?token="), std::string::npos) << dom.substr(0, 400);

  // With it: wait until trial 1 has reported, then look twice.
  json first;
  for (int i = 0; i < 60; ++i) {
    first = PageState(url, dir + "/profile-1", &dom);
    if (first.is_object() && first["lossPoints"].get<int>() >= 3) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_TRUE(first.is_object()) << "the page never drew:\n" << dom.substr(0, 2000);
  EXPECT_TRUE(first["errors"].empty()) << first.dump();
  EXPECT_GE(first["updates"].get<int>(), 1);
  EXPECT_GE(first["lossPoints"].get<int>(), 3) << first.dump();
  EXPECT_EQ(first["state"], "running");
  Screenshot(url, dir + "/profile-2", "dashboard-live.png");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const json second = PageState(url, dir + "/profile-3", &dom);
  ASSERT_TRUE(second.is_object()) << dom.substr(0, 2000);
  EXPECT_TRUE(second["errors"].empty()) << second.dump();
  EXPECT_GT(second["lossPoints"].get<int>(), first["lossPoints"].get<int>()) << "the curves did not grow";
  // Within one page: it polls, and the next answer adds points.
  EXPECT_GE(second["updates"].get<int>(), 2) << second.dump();

  // Ctrl-C: the sweep stops its trials and ends; the server goes with it.
  kill(pid, SIGINT);
  const int code = testing_util::WaitFor(pid, 180);
  reaper.reaped = true;
  EXPECT_EQ(code, 130) << "sweep exit " << code;
  EXPECT_FALSE(std::filesystem::exists(run + "/dashboard.url")) << "the URL file outlived its server";

  // The report: one file, no server, the same page.
  const std::string report = dir + "/report.html";
  auto written = RunCommand(std::string(POLYSWEEP_BIN) + " report --dir " + Quote(run) + " -o " + Quote(report));
  ASSERT_EQ(written.exit_code, 0) << written.err;
  std::stringstream html;
  html << std::ifstream(report).rdbuf();
  EXPECT_EQ(html.str().find("<script src="), std::string::npos) << "the report loads a script from elsewhere";
  EXPECT_NE(html.str().find("window.POLYSWEEP_DATA = "), std::string::npos);
  const json offline = PageState("file://" + report, dir + "/profile-4", &dom);
  ASSERT_TRUE(offline.is_object()) << dom.substr(0, 2000);
  EXPECT_TRUE(offline["errors"].empty()) << offline.dump();
  EXPECT_EQ(offline["updates"], 1);
  EXPECT_GE(offline["trials"].get<int>(), 1);
  EXPECT_GE(offline["lossPoints"].get<int>(), second["lossPoints"].get<int>());
  Screenshot("file://" + report, dir + "/profile-5", "report.png");
  std::filesystem::remove_all(dir);
}

// The report of a sweep that finished: the progress bar full (and drawn
// there, not on its way), how long the sweep took where a running sweep's
// throughput goes (not "0.0 samples/s"), the trials in parallel
// coordinates, and the hyperparameters' importance.
TEST(Dashboard, AFinishedSweepsReportShowsTheBarFullItsTrialsAndTheirImportance) {
  ASSERT_EQ(RunCommand("command -v chromium").exit_code, 0) << "chromium is not installed (scripts/install-deps installs it)";
  const std::string dir = testing_util::FreshDir("dashboard-done"), run = dir + "/run";
  const std::string config = dir + "/done.yaml";
  std::ofstream(config) << testing_util::TinySweepHead("done", run, POLYSWEEP_DEFAULT_DATA)
                        << "trial: {ranks: 1, synthetic_step_ms: 2}\n"
                        << "search: {algorithm: random, seed: 3, space: {lr: {type: loguniform, low: 1.0e-4, "
                        << "high: 3.0e-2}, dropout: {type: uniform, low: 0.0, high: 0.3}}}\n"
                        << "budget: {max_trials: 8, max_steps: 20, eval_every: 10, log_every: 5}\n";
  auto sweep = RunCommand(std::string(POLYSWEEP_BIN) + " sweep " + Quote(config));
  ASSERT_EQ(sweep.exit_code, 0) << sweep.out << sweep.err;
  const std::string report = dir + "/report.html";
  auto written = RunCommand(std::string(POLYSWEEP_BIN) + " report --dir " + Quote(run) + " -o " + Quote(report));
  ASSERT_EQ(written.exit_code, 0) << written.err;
  std::string dom;
  const json page = PageState("file://" + report, dir + "/profile", &dom);
  ASSERT_TRUE(page.is_object()) << dom.substr(0, 2000);
  EXPECT_TRUE(page["errors"].empty()) << page.dump();
  EXPECT_EQ(page["state"], "finished");
  EXPECT_EQ(page["progress"], 1) << page.dump();
  EXPECT_NE(dom.find("id=\"progress-bar\" style=\"width: 100%;\""), std::string::npos) << dom.substr(0, 3000);
  EXPECT_NEAR(page["drawn"].get<double>(), 1.0, 0.01) << "the bar is drawn short of where it is: " << page.dump();
  const std::string summary = page["summary"].get<std::string>();
  EXPECT_NE(summary.find("8 of 8 trials issued: 8 completed"), std::string::npos) << summary;
  EXPECT_NE(summary.find("finished in "), std::string::npos) << summary;
  EXPECT_EQ(summary.find("samples/s"), std::string::npos) << summary;
  // Parallel coordinates: a line per trial across its hyperparameters and the objective.
  EXPECT_EQ(page["parallelLines"], 8) << page.dump();
  EXPECT_EQ(page["parallelAxes"], json::array({"dropout", "lr", "macro_f1"})) << page.dump();
  // Importance of both searched hyperparameters, with its method named.
  // (The synthetic trials score lr, best at 1e-3, and dropout.)
  EXPECT_EQ(page["importance"].size(), 2u) << page.dump();
  EXPECT_NE(page["importanceNote"].get<std::string>().find("over 8 trials. Method: first-order (main-effect) "
                                                           "variance shares"),
            std::string::npos)
      << page.dump();
  Screenshot("file://" + report, dir + "/profile-shot", "report-finished.png");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace polysweep
