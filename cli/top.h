// `polysweep top`: one screen of a sweep, redrawn every second. RenderTop
// draws a frame from a status; RunTop owns the terminal (alternate screen,
// keys, resizes) and redraws until `q` or Ctrl-C.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "polysweep.pb.h"

namespace polysweep {

struct TopFrame {
  int width = 120;    // columns: longer lines are cut
  int height = 40;    // rows: trials beyond them are summarised in one line
  bool color = true;  // ANSI colours (stalled ranks in red, running trials in green)
};

// Running trials first, each with a progress bar and one line per rank
// (host, pid, step, steps/s, idle time; STALLED when idle past two
// heartbeats), then paused and pending ones, then ended ones newest first.
std::string RenderTop(const wire::StatusReply& status, const std::string& source, double now, const TopFrame& frame);

// Fetches a status (ok: the status and where it came from) once a second
// and draws it. Without a terminal on stdout, or with `once`, draws one frame
// without escape codes and returns.
using StatusSource = std::function<StatusOr<wire::StatusReply>(std::string* source)>;
int RunTop(const StatusSource& fetch, bool once);

}  // namespace polysweep
