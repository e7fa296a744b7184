// The dashboard: a web page the coordinator serves (and `polysweep report`
// writes as one self-contained file) with live learning curves, per-language
// scores of a selected trial, hyperparameters against the objective, ASHA
// rungs and the sweep's progress. The page and its charting library
// (Chart.js from npm, bundled at build time) are in `<polysweep's dir>/web`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "cli/http_server.h"
#include "polysweep.pb.h"

namespace polysweep {

// Where the page's files are: `web/` next to the running executable.
std::string DashboardAssetsDir();

// The sweep's status as the CLI gets it (live or from the journal); `source`
// says which.
using SweepStatusFn = std::function<StatusOr<wire::StatusReply>(std::string* source)>;

// At most this many points of one trial's curve go to the page: a long trial
// that reports every few steps would otherwise send (and the page draw) every
// one of them, every two seconds.
constexpr size_t kDashboardCurvePoints = 400;

// Everything the page draws, as one JSON document: the status (with each
// running rank), every trial's curves (thinned to kDashboardCurvePoints), the
// scheduler's decisions.
StatusOr<std::string> DashboardData(const std::string& sweep_dir, const SweepStatusFn& status);

// GET / and the page's files from `assets`, GET /api/data.
HttpHandler MakeDashboardHandler(const std::string& sweep_dir, const std::string& assets, SweepStatusFn status);

// The page with its scripts, styles and `data_json` inlined: a file that
// opens anywhere without a server.
StatusOr<std::string> RenderReport(const std::string& assets, const std::string& data_json);

struct DashboardOptions {
  std::string bind = "127.0.0.1";  // another address must be asked for: the page is plain HTTP
  int port = 0;                    // 0: any free port
};

// Serves `sweep_dir`'s dashboard behind a fresh random token and writes its
// URL (token included) to <sweep_dir>/dashboard.url, readable by the owner
// only. The file is removed when the server is destroyed.
class Dashboard {
 public:
  static StatusOr<std::unique_ptr<Dashboard>> Start(const std::string& sweep_dir, const DashboardOptions& options,
                                                    SweepStatusFn status);
  ~Dashboard();
  std::string url() const { return server_->url(); }

 private:
  Dashboard(std::unique_ptr<HttpServer> server, std::string url_file)
      : server_(std::move(server)), url_file_(std::move(url_file)) {}
  std::unique_ptr<HttpServer> server_;
  std::string url_file_;
};

}  // namespace polysweep
