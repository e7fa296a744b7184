// Tests of the CLI views (cli/views.h) on hand-built StatusReplies.
#include "cli/views.h"
#include "cli/inspect.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace polysweep {
namespace {

using nlohmann::json;

wire::TrialSummary* AddTrial(wire::StatusReply* s, uint32_t id, const std::string& state) {
  wire::TrialSummary* t = s->add_trials();
  t->set_id(id);
  t->set_state(state);
  t->set_attempt(1);
  return t;
}

void SetMetric(wire::TrialSummary* t, double metric) {
  t->set_has_metric(true);
  t->set_metric(metric);
  t->set_macro_f1(metric);
  t->set_accuracy(metric + 0.1);
  t->set_valid_loss(1 - metric);
}

// Three trials: 7 completed (0.61), 8 failed with the highest metric (0.90),
// 9 running (0.42); plus 10, pending, no metric at all.
wire::StatusReply Sample(bool maximize) {
  wire::StatusReply s;
  s.set_sweep("quick");
  s.set_state("running");
  s.set_metric("macro_f1");
  s.set_maximize(maximize);
  s.set_max_trials(5);
  s.set_created_at(1000);
  s.set_finished_at(1130);

  wire::TrialSummary* a = AddTrial(&s, 7, "completed");
  (*a->mutable_hparams())["lr"] = "0.001";
  (*a->mutable_hparams())["batch_size"] = "32";
  a->set_step(400);
  a->set_max_steps(400);
  a->set_loss(0.8123);
  a->set_samples_per_sec(512.26);
  a->set_started_at(1000);
  a->set_finished_at(1095);
  a->set_outcome("completed");
  SetMetric(a, 0.61);
  for (auto [lang, f1, n] : {std::tuple{"de", 0.55, 40}, std::tuple{"ja", 0.72, 31}, std::tuple{"ru", 0.63, 12}}) {
    wire::LanguageScore* l = a->add_languages();
    l->set_lang(lang);
    l->set_f1(f1);
    l->set_accuracy(f1 + 0.01);
    l->set_count(n);
  }

  wire::TrialSummary* b = AddTrial(&s, 8, "failed");
  (*b->mutable_hparams())["lr"] = "0.1";
  b->set_step(120);
  b->set_max_steps(400);
  b->set_outcome("failed");
  b->set_error("loss became NaN at step 120");
  SetMetric(b, 0.90);

  wire::TrialSummary* c = AddTrial(&s, 9, "running");
  (*c->mutable_hparams())["lr"] = "0.0003";
  c->set_step(200);
  c->set_max_steps(400);
  c->set_loss(1.2);
  c->set_started_at(1100);
  SetMetric(c, 0.42);

  AddTrial(&s, 10, "pending")->set_attempt(0);
  return s;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(BestTrial, MaximizeIgnoresFailedAndMetriclessTrials) {
  auto best = BestTrial(Sample(/*maximize=*/true));
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->id(), 7u);  // 8 scores higher but failed
}

TEST(BestTrial, MinimizePicksLowest) {
  auto best = BestTrial(Sample(/*maximize=*/false));
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->id(), 9u);
}

TEST(BestTrial, NoneWithoutMetricsAndNanIgnored) {
  wire::StatusReply s = Sample(true);
  for (auto& t : *s.mutable_trials()) t.set_has_metric(false);
  EXPECT_FALSE(BestTrial(s).has_value());
  EXPECT_FALSE(BestTrial(wire::StatusReply()).has_value());

  s = Sample(true);
  s.mutable_trials(0)->set_metric(std::nan(""));
  auto best = BestTrial(s);
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->id(), 9u);
}

TEST(BestTrial, AFeasibleTrialBeatsAnInfeasibleOne) {
  wire::StatusReply s = Sample(true);
  s.mutable_trials(0)->set_infeasible(true);  // trial 7, the best by value
  auto best = BestTrial(s);
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->id(), 9u);
  EXPECT_NE(RenderTrials(s).find("!"), std::string::npos);
  // With every trial infeasible, the best value still wins.
  s.mutable_trials(2)->set_infeasible(true);
  EXPECT_EQ(BestTrial(s)->id(), 7u);
  EXPECT_NE(RenderBest(s).find("infeasible"), std::string::npos);
}

TEST(RenderTrials, ListsEveryTrialUnderAlignedHeader) {
  const std::string out = RenderTrials(Sample(true));
  const auto lines = Lines(out);
  ASSERT_GE(lines.size(), 6u) << out;
  const std::string& header = lines[0];
  for (const char* col : {"ID", "STATE", "ATTEMPT", "STEP", "LOSS", "macro_f1", "SAMPLES/S", "TIME",
                          "HYPERPARAMETERS"}) {
    EXPECT_NE(header.find(col), std::string::npos) << col << " missing: " << header;
  }
  EXPECT_EQ(header.rfind("ID", 0), 0u);
  // One row per trial, in order, with its state.
  const char* states[] = {"completed", "failed", "running", "pending"};
  const char* ids[] = {"7", "8", "9", "10"};
  const size_t state_col = header.find("STATE");
  const size_t hp_col = header.find("HYPERPARAMETERS");
  for (int i = 0; i < 4; ++i) {
    const std::string& row = lines[1 + i];
    // Columns line up with the header: numbers end where the header's column
    // ends, text starts where it starts.
    EXPECT_EQ(row.substr(0, state_col).find(ids[i]), state_col - 2 - std::string(ids[i]).size()) << row;
    EXPECT_EQ(row.substr(state_col, std::string(states[i]).size()), states[i]) << row;
  }
  EXPECT_EQ(lines[1].substr(hp_col), "batch_size=32 lr=0.001");
  EXPECT_EQ(lines[3].substr(hp_col), "lr=0.0003");
  EXPECT_NE(lines[1].find("400/400"), std::string::npos);
  EXPECT_NE(lines[1].find("0.8123"), std::string::npos);
  EXPECT_NE(lines[1].find("0.6100"), std::string::npos);
  EXPECT_NE(lines[1].find("512.3"), std::string::npos);
  EXPECT_NE(lines[1].find("1m35s"), std::string::npos);
  // The failed trial's error follows the table.
  EXPECT_NE(out.find("trial 8 failed: loss became NaN at step 120"), std::string::npos) << out;
  for (const auto& line : lines) EXPECT_TRUE(line.empty() || line.back() != ' ') << "trailing space: " << line;
}

TEST(RenderBest, ListsLanguagesByF1Descending) {
  const std::string out = RenderBest(Sample(true));
  EXPECT_NE(out.find("best trial 7 of sweep quick (completed)"), std::string::npos) << out;
  EXPECT_NE(out.find("macro_f1  0.6100"), std::string::npos) << out;
  EXPECT_NE(out.find("batch_size=32 lr=0.001"), std::string::npos) << out;
  const size_t ja = out.find("\nja "), ru = out.find("\nru "), de = out.find("\nde ");
  ASSERT_NE(ja, std::string::npos) << out;
  ASSERT_NE(ru, std::string::npos) << out;
  ASSERT_NE(de, std::string::npos) << out;
  EXPECT_LT(ja, ru);
  EXPECT_LT(ru, de);
  EXPECT_LT(out.find("LANG"), ja);
  EXPECT_NE(out.find("0.7200"), std::string::npos);
}

TEST(RenderBest, SaysSoWhenNoTrialHasMetric) {
  wire::StatusReply s;
  s.set_metric("accuracy");
  EXPECT_EQ(RenderBest(s), "no trial has a accuracy yet\n");
}

TEST(RenderStatus, SummarisesSweep) {
  const std::string out = RenderStatus(Sample(true), "journal runs/quick/sweep.db");
  EXPECT_NE(out.find("quick"), std::string::npos);
  EXPECT_NE(out.find("2m10s"), std::string::npos) << out;  // 1130 - 1000
  EXPECT_NE(out.find("journal runs/quick/sweep.db"), std::string::npos);
  EXPECT_NE(out.find("4 of 5 issued"), std::string::npos) << out;
  EXPECT_NE(out.find("1 completed, 1 failed, 1 pending, 1 running"), std::string::npos) << out;
  EXPECT_NE(out.find("macro_f1 (max)"), std::string::npos) << out;
  EXPECT_NE(out.find("best       trial 7"), std::string::npos) << out;
}

TEST(ViewsJson, TrialsJsonHasEveryTrial) {
  const json j = json::parse(TrialsJson(Sample(true)));
  EXPECT_EQ(j["sweep"], "quick");
  EXPECT_EQ(j["metric"], "macro_f1");
  ASSERT_TRUE(j["trials"].is_array());
  ASSERT_EQ(j["trials"].size(), 4u);
  EXPECT_TRUE(j["trials"][0]["id"].is_number());
  EXPECT_EQ(j["trials"][0]["id"], 7);
  EXPECT_EQ(j["trials"][1]["state"], "failed");
  EXPECT_EQ(j["trials"][1]["error"], "loss became NaN at step 120");
  EXPECT_EQ(j["trials"][0]["hparams"]["lr"], "0.001");
  EXPECT_TRUE(j["trials"][0]["step"].is_number());
  ASSERT_EQ(j["trials"][0]["languages"].size(), 3u);
  // Defaults are printed too, so consumers need not guess.
  EXPECT_EQ(j["trials"][3]["has_metric"], false);
}

TEST(ViewsJson, BestJsonNamesBestOrNull) {
  const json j = json::parse(BestJson(Sample(false)));
  EXPECT_EQ(j["sweep"], "quick");
  EXPECT_EQ(j["maximize"], false);
  ASSERT_TRUE(j["best"].is_object());
  ASSERT_TRUE(j["best"]["id"].is_number());
  EXPECT_EQ(j["best"]["id"], 9);
  EXPECT_DOUBLE_EQ(j["best"]["metric"].get<double>(), 0.42);

  wire::StatusReply empty;
  empty.set_sweep("none");
  const json n = json::parse(BestJson(empty));
  EXPECT_TRUE(n["best"].is_null());
}

TEST(ViewsJson, StatusJsonCountsStatesAndOmitsTrials) {
  const json j = json::parse(StatusJson(Sample(true), "live tcp://127.0.0.1:5000"));
  EXPECT_EQ(j["source"], "live tcp://127.0.0.1:5000");
  EXPECT_FALSE(j.contains("trials"));
  EXPECT_EQ(j["trials_issued"], 4);
  EXPECT_EQ(j["trials_by_state"]["failed"], 1);
  EXPECT_EQ(j["trials_by_state"]["completed"], 1);
  EXPECT_EQ(j["max_trials"], 5);
  EXPECT_EQ(j["best"]["id"], 7);
}

TEST(EstimateSecondsLeft, ScalesTheRemainingStepsByTheRateSoFar) {
  wire::StatusReply s = Sample(true);
  s.set_finished_at(0);
  // Done: 400 + 120 + 200 steps in 72 s (10 steps/s). Left: 200 of trial 9,
  // and one trial not issued yet at the longest max_steps (400).
  EXPECT_DOUBLE_EQ(EstimateSecondsLeft(s, 1072), 60.0);
  s.set_state("finished");
  EXPECT_LT(EstimateSecondsLeft(s, 1072), 0);
  wire::StatusReply fresh;
  fresh.set_state("running");
  fresh.set_max_trials(3);
  EXPECT_LT(EstimateSecondsLeft(fresh, 1072), 0) << "nothing to estimate from";
}

TEST(RenderStatus, ShowsEtaAndResourcesWhileRunning) {
  wire::StatusReply s = Sample(true);
  s.mutable_trials(2)->set_samples_per_sec(300);
  const std::string out = RenderStatus(s, "live", /*ranks_per_trial=*/2);
  EXPECT_NE(out.find("eta        at most"), std::string::npos) << out;
  EXPECT_NE(out.find("1 trial running on 2 ranks, 300.0 samples/s"), std::string::npos) << out;
  const json j = json::parse(StatusJson(s, "live", 2));
  EXPECT_TRUE(j["eta_seconds"].is_number());
  EXPECT_EQ(j["resources"]["running_trials"], 1);
  EXPECT_EQ(j["resources"]["ranks_busy"], 2);
  EXPECT_DOUBLE_EQ(j["resources"]["samples_per_sec"].get<double>(), 300.0);
  EXPECT_GT(j["resources"]["rank_seconds"].get<double>(), 2 * 95.0);  // trial 7 ran 95 s on 2 ranks
}

TEST(BestTopK, RanksFeasibleUsableTrialsBestFirst) {
  const json max = json::parse(BestJson(Sample(true), "", 3));
  ASSERT_EQ(max["top"].size(), 2u);  // 8 failed, 10 has no metric
  EXPECT_EQ(max["top"][0]["id"], 7);
  EXPECT_EQ(max["top"][1]["id"], 9);
  const json min = json::parse(BestJson(Sample(false), "", 1));
  ASSERT_EQ(min["top"].size(), 1u);
  EXPECT_EQ(min["top"][0]["id"], 9);
  const std::string table = RenderTopTrials(Sample(true), 5);
  EXPECT_NE(table.find("best 2 of sweep quick"), std::string::npos) << table;
  EXPECT_NE(table.find("de 0.5500"), std::string::npos) << table;  // trial 7's worst language
}

std::vector<uint32_t> Ids(const wire::StatusReply& s) {
  std::vector<uint32_t> ids;
  for (const auto& t : s.trials()) ids.push_back(t.id());
  return ids;
}

TEST(SortTrials, ByMetricBestFirstByHyperparameterAndMissingLast) {
  wire::StatusReply s = Sample(true);
  ASSERT_TRUE(SortTrials(&s, "metric", false).ok());
  EXPECT_EQ(Ids(s), (std::vector<uint32_t>{8, 7, 9, 10}));
  ASSERT_TRUE(SortTrials(&s, "metric", true).ok());
  EXPECT_EQ(Ids(s), (std::vector<uint32_t>{9, 7, 8, 10}));
  ASSERT_TRUE(SortTrials(&s, "lr", false).ok());
  EXPECT_EQ(Ids(s), (std::vector<uint32_t>{9, 7, 8, 10}));  // numerically, not as text
  ASSERT_TRUE(SortTrials(&s, "state", false).ok());
  EXPECT_EQ(Ids(s), (std::vector<uint32_t>{7, 8, 10, 9}));
  ASSERT_TRUE(SortTrials(&s, "id", true).ok());
  EXPECT_EQ(Ids(s), (std::vector<uint32_t>{10, 9, 8, 7}));
  Status bad = SortTrials(&s, "speed", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("--sort speed: no such column"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("batch_size, lr"), std::string::npos) << bad.message();
}

TEST(Export, CsvHasAColumnPerHyperparameterAndLanguageAndQuotes) {
  wire::StatusReply s = Sample(true);
  const auto lines = Lines(ExportCsv(s));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0].rfind("id,state,attempt,outcome,reason,step,max_steps,loss,samples_per_sec,metric,accuracy,"
                           "macro_f1,valid_loss,infeasible,started_at,finished_at,batch_size,lr,f1_de,f1_ja,f1_ru,"
                           "acc_de,acc_ja,acc_ru", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1], "7,completed,1,completed,,400,400,0.8123,512.26,0.61,0.71,0.61,0.39,false,1000,1095,32,0.001,"
                      "0.55,0.72,0.63,0.56,0.73,0.64");
  EXPECT_EQ(lines[4], "10,pending,0,,,0,0,,,,,,,,,,,,,,,,,");
  // A value with a comma or a quote is quoted, its quotes doubled.
  (*s.mutable_trials(0)->mutable_hparams())["tag"] = "a,\"b\"";
  const auto quoted = Lines(ExportCsv(s));
  EXPECT_NE(quoted[1].find(",\"a,\"\"b\"\"\","), std::string::npos) << quoted[1];
}

TEST(Export, JsonlIsOneTrialPerLineWithNullsForMissingMetrics) {
  const auto lines = Lines(ExportJsonl(Sample(true)));
  ASSERT_EQ(lines.size(), 4u);
  const json first = json::parse(lines[0]);
  EXPECT_EQ(first["id"], 7);
  EXPECT_EQ(first["sweep"], "quick");
  EXPECT_EQ(first["hparams"]["batch_size"], "32");
  EXPECT_EQ(first["languages"].size(), 3u);
  const json pending = json::parse(lines[3]);
  EXPECT_EQ(pending["id"], 10);
  EXPECT_TRUE(pending["metric"].is_null());
  EXPECT_TRUE(pending["macro_f1"].is_null());
}

}  // namespace
}  // namespace polysweep
