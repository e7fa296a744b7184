#include "cli/dashboard.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/export_model.h"
#include "cli/importance.h"
#include "common/files.h"
#include "coordinator/journal.h"
#include "cli/views.h"

namespace polysweep {
namespace {

using nlohmann::json;

json Number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// `text` safe inside <script>...</script>.
std::string ScriptSafe(std::string text) {
  for (size_t at = 0; (at = text.find("</", at)) != std::string::npos; at += 3) text.replace(at, 2, "<\\/");
  return text;
}

bool ReplaceOnce(std::string* page, const std::string& what, const std::string& with) {
  const size_t at = page->find(what);
  if (at == std::string::npos) return false;
  page->replace(at, what.size(), with);
  return true;
}

const char* ContentType(const std::string& name) {
  if (name.size() > 5 && name.substr(name.size() - 5) == ".html") return "text/html; charset=utf-8";
  if (name.size() > 3 && name.substr(name.size() - 3) == ".js") return "text/javascript; charset=utf-8";
  if (name.size() > 4 && name.substr(name.size() - 4) == ".css") return "text/css; charset=utf-8";
  return "application/octet-stream";
}

// The searched hyperparameters' importance over the trials with an objective.
json ImportanceJson(const wire::StatusReply& status) {
  std::vector<ScoredTrial> scored;
  for (const auto& t : status.trials()) {
    if (!t.has_metric() || !std::isfinite(t.metric())) continue;
    scored.push_back({std::map<std::string, std::string>(t.hparams().begin(), t.hparams().end()), t.metric()});
  }
  json params = json::array();
  for (const ParamImportance& p : HyperparameterImportance(scored)) {
    params.push_back({{"name", p.name}, {"importance", p.importance}});
  }
  return {{"method", kImportanceMethod}, {"trials", scored.size()}, {"params", params}};
}

}  // namespace

std::string DashboardAssetsDir() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "web" : (self.parent_path() / "web").string();
}

StatusOr<std::string> DashboardData(const std::string& dir, const SweepStatusFn& status_fn) {
  std::string source;
  auto status = status_fn(&source);
  if (!status.ok()) return status.status();
  auto journal = Journal::OpenReadOnly(dir + "/journal.db");
  if (!journal.ok()) return journal.status();
  auto curves = (*journal)->Curves(kDashboardCurvePoints);
  if (!curves.ok()) return curves.status();
  auto decisions = (*journal)->Decisions();
  if (!decisions.ok()) return decisions.status();

  const double now = WallSeconds();
  json j;
  j["status"] = json::parse(ToJson(*status));
  j["source"] = source;
  j["generated_at"] = now;
  const double left = EstimateSecondsLeft(*status, now);
  j["eta_seconds"] = left < 0 ? json(nullptr) : json(left);
  json c = json::object();
  for (const auto& t : status->trials()) {
    json progress = json::array(), evals = json::array();
    if (auto it = curves->progress.find(t.id()); it != curves->progress.end()) {
      for (const auto& p : it->second) progress.push_back({p.step, Number(p.loss)});
    }
    if (auto it = curves->evaluations.find(t.id()); it != curves->evaluations.end()) {
      for (const auto& e : it->second) evals.push_back({e.step, Number(e.objective)});
    }
    c[std::to_string(t.id())] = {{"loss", progress}, {"objective", evals}};
  }
  j["curves"] = c;
  json d = json::array();
  for (const auto& x : *decisions) {
    d.push_back({{"trial", x.trial}, {"attempt", x.attempt}, {"kind", DecisionKindName(x.kind)}, {"step", x.step},
                 {"score", Number(x.score)}, {"stop_at", x.stop_at}, {"detail", x.detail}});
  }
  j["decisions"] = d;
  j["importance"] = ImportanceJson(*status);
  if (const auto test = LoadTestScore(dir)) {
    j["test"] = {{"trial", test->trial}, {"accuracy", test->accuracy}, {"macro_f1", test->macro_f1},
                 {"examples", test->examples}};
    if (test->entity_f1) j["test"]["entity_f1"] = *test->entity_f1;
    if (test->micro_f1) j["test"]["micro_f1"] = *test->micro_f1;
  }
  return j.dump();
}

HttpHandler MakeDashboardHandler(const std::string& dir, const std::string& assets, SweepStatusFn status) {
  return [dir, assets, status](const HttpRequest& req) -> HttpResponse {
    if (req.path == "/api/data") {
      auto data = DashboardData(dir, status);
      if (!data.ok()) return {500, "application/json", json{{"error", data.status().message()}}.dump()};
      return {200, "application/json", *data};
    }
    // Only the page's own files: nothing else under the directory is served.
    const std::string name = req.path == "/" ? "index.html" : req.path.substr(1);
    if (name != "index.html" && name != "dashboard.js" && name != "dashboard.css" && name != "chart.umd.js") {
      return {404, "text/plain", "no such page\n"};
    }
    auto body = ReadFile(assets + "/" + name);
    if (!body.ok()) return {500, "text/plain", "dashboard files missing: " + body.status().message() + "\n"};
    return {200, ContentType(name), *body};
  };
}

StatusOr<std::string> RenderReport(const std::string& assets, const std::string& data_json) {
  auto page = ReadFile(assets + "/index.html");
  if (!page.ok()) return page.status().With("the report's page (build polysweep_web)");
  for (const char* name : {"chart.umd.js", "dashboard.js"}) {
    auto script = ReadFile(assets + "/" + name);
    if (!script.ok()) return script.status().With("the report's scripts");
    if (!ReplaceOnce(&*page, "<script src=\"" + std::string(name) + "\"></script>",
                     "<script>\n" + ScriptSafe(*script) + "\n</script>")) {
      return Status::Error(assets + "/index.html: no <script src=\"" + name + "\"> to inline");
    }
  }
  auto css = ReadFile(assets + "/dashboard.css");
  if (!css.ok()) return css.status().With("the report's styles");
  if (!ReplaceOnce(&*page, "<link rel=\"stylesheet\" href=\"dashboard.css\">", "<style>\n" + *css + "\n</style>")) {
    return Status::Error(assets + "/index.html: no stylesheet link to inline");
  }
  if (!ReplaceOnce(&*page, "<!-- polysweep:data -->",
                   "<script>window.POLYSWEEP_DATA = " + ScriptSafe(data_json) + ";</script>")) {
    return Status::Error(assets + "/index.html: no data placeholder");
  }
  return *page;
}

StatusOr<std::unique_ptr<Dashboard>> Dashboard::Start(const std::string& dir, const DashboardOptions& options,
                                                      SweepStatusFn status) {
  const std::string assets = DashboardAssetsDir();
  if (!std::filesystem::exists(assets + "/chart.umd.js")) {
    return Status::Error("dashboard: " + assets + "/chart.umd.js is missing (build the polysweep_web target)");
  }
  auto server = std::make_unique<HttpServer>(RandomToken(), MakeDashboardHandler(dir, assets, std::move(status)));
  PS_RETURN_IF_ERROR(server->Start(options.bind, options.port));
  const std::string url_file = dir + "/dashboard.url";
  {
    const mode_t old = ::umask(077);  // the token is a secret
    std::ofstream(url_file, std::ios::trunc) << server->url() << "\n";
    ::umask(old);
  }
  return std::unique_ptr<Dashboard>(new Dashboard(std::move(server), url_file));
}

Dashboard::~Dashboard() {
  server_->Stop();
  std::error_code ec;
  std::filesystem::remove(url_file_, ec);
}

}  // namespace polysweep
