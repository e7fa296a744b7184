// Progress of long work for the person watching: sharding, tokenizer
// training, checkpoint loading. On a terminal, one line redrawn in place:
//   reading 1 file  [##########----------]  52%  38.2 MB/s  eta 4s
// (work without a known total shows its elapsed time instead). Elsewhere
// (a log file, a pipe) plain lines without the bar: one at each quarter
// passed and one at the end, each with the rate and, before the end, the ETA:
//   reading 1 file: 52%, 52.0 of 100 MB, 38.2 MB/s, eta 4s
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace polysweep {

struct ProgressOptions {
  std::string unit = "";      // what is counted, as shown: "MB", "texts"
  double unit_scale = 1;      // counted amounts are divided by this for display (1e6 for bytes as MB)
  bool terminal = false;      // redraw in place (see StderrIsTerminal)
  // Where text goes (default: stderr).
  std::function<void(const std::string&)> write;
  // Seconds since some fixed point (default: a steady clock); tests pass a fake.
  std::function<double()> clock;
  // Redraw in place from a thread of its own every half second, so time
  // moves on screen while the work gives no news (a terminal only).
  bool ticker = false;
};

// True when stderr is a terminal that can redraw a line (TERM is not dumb).
bool StderrIsTerminal();

class Progress {
 public:
  // `total` <= 0: unknown (the line shows the elapsed time).
  Progress(std::string label, double total, ProgressOptions options);
  ~Progress();  // finishes if Finish was not called
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` so far; callable from any thread, cheap when nothing is drawn.
  void Set(double done);
  void Add(double amount);
  // The last line: the total done, the time it took and the rate.
  void Finish();

  // The line as it stands (for tests): label, bar, percentage, rate, ETA.
  std::string Line(double now) const;

 private:
  std::string Line(double now, bool bar) const;
  void Draw(bool final);
  std::string label_;
  double total_;
  ProgressOptions options_;
  double start_;
  std::atomic<double> done_{0};
  std::mutex draw_mu_;
  double last_draw_ = -1;
  int quarters_written_ = 0;
  bool finished_ = false;
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool stop_ticker_ = false;
  std::thread ticker_;
};

// "3.2s", "2m05s", "1h02m".
std::string ShortDuration(double seconds);

}  // namespace polysweep
