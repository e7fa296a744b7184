#include "common/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace polysweep {
namespace {

constexpr double kRedrawSeconds = 0.1;

std::string Amount(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f" : "%.1f", v);
  return buf;
}

}  // namespace

bool StderrIsTerminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) && term && std::strcmp(term, "dumb") != 0;
}

std::string ShortDuration(double seconds) {
  if (seconds < 0 || !std::isfinite(seconds)) return "-";
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    const long s = std::lround(seconds);
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    const long s = std::lround(seconds);
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  }
  return buf;
}

Progress::Progress(std::string label, double total, ProgressOptions options)
    : label_(std::move(label)), total_(total), options_(std::move(options)) {
  if (!options_.write) {
    options_.write = [](const std::string& s) { (void)!::write(STDERR_FILENO, s.data(), s.size()); };
  }
  if (!options_.clock) {
    options_.clock = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
  }
  start_ = options_.clock();
  // With a ticker the first line waits for its first tick: whatever the work
  // prints as it starts (SentencePiece prints its command line) comes first.
  if (options_.terminal && !options_.ticker) Draw(false);
  if (options_.terminal && options_.ticker) {
    ticker_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(tick_mu_);
      while (!tick_cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_ticker_; })) Draw(false);
    });
  }
}

Progress::~Progress() { Finish(); }

void Progress::Set(double done) {
  done_.store(done, std::memory_order_relaxed);
  Draw(false);
}

void Progress::Add(double amount) {
  double old = done_.load(std::memory_order_relaxed);
  while (!done_.compare_exchange_weak(old, old + amount, std::memory_order_relaxed)) {
  }
  Draw(false);
}

void Progress::Finish() {
  if (ticker_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(tick_mu_);
      stop_ticker_ = true;
    }
    tick_cv_.notify_all();
    ticker_.join();
  }
  Draw(true);
}

std::string Progress::Line(double now) const { return Line(now, true); }

std::string Progress::Line(double now, bool bar) const {
  const double done = done_.load(std::memory_order_relaxed);
  const double elapsed = std::max(0.0, now - start_);
  std::string line = label_;
  const double rate = elapsed > 0 ? done / options_.unit_scale / elapsed : 0;
  const std::string unit = options_.unit.empty() ? "" : " " + options_.unit;
  if (total_ > 0) {
    const double f = std::clamp(done / total_, 0.0, 1.0);
    const int filled = static_cast<int>(std::lround(f * 20));
    char pct[8];
    std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(std::floor(f * 100)));
    if (bar) {
      line += "  [" + std::string(filled, '#') + std::string(20 - filled, '-') + "] " + pct + "  ";
    } else {
      line += ": " + std::string(pct + (pct[0] == ' ' ? (pct[1] == ' ' ? 2 : 1) : 0)) + ", ";
    }
    line += Amount(done / options_.unit_scale) + " of " + Amount(total_ / options_.unit_scale) + unit;
    if (elapsed > 0 && done > 0) {
      line += ", " + Amount(rate) + unit + "/s";
      if (done < total_) line += ", eta " + ShortDuration((total_ - done) / (done / elapsed));
    }
  } else {
    if (done > 0) line += "  " + Amount(done / options_.unit_scale) + unit + ", " + Amount(rate) + unit + "/s";
    line += "  " + ShortDuration(elapsed);
  }
  return line;
}

void Progress::Draw(bool final) {
  std::lock_guard<std::mutex> lock(draw_mu_);
  if (finished_) return;
  const double now = options_.clock();
  if (final) {
    finished_ = true;
    const double done = done_.load(std::memory_order_relaxed);
    const double elapsed = std::max(0.0, now - start_);
    std::string line = label_ + ": done";
    if (done > 0) {
      line += ", " + Amount(done / options_.unit_scale) + (options_.unit.empty() ? "" : " " + options_.unit);
    }
    line += " in " + ShortDuration(elapsed);
    if (done > 0 && elapsed > 0) {
      line += " (" + Amount(done / options_.unit_scale / elapsed) + (options_.unit.empty() ? "" : " " + options_.unit) + "/s)";
    }
    options_.write(options_.terminal ? "\r\x1b[K" + line + "\n" : line + "\n");
    return;
  }
  if (options_.terminal) {
    if (last_draw_ >= 0 && now - last_draw_ < kRedrawSeconds) return;
    last_draw_ = now;
    options_.write("\r\x1b[K" + Line(now));
    return;
  }
  // Plain: a line as each quarter is passed.
  if (total_ <= 0) return;
  const int quarter = static_cast<int>(std::floor(4 * done_.load(std::memory_order_relaxed) / total_));
  if (quarter > quarters_written_ && quarter < 4) {
    quarters_written_ = quarter;
    options_.write(Line(now, false) + "\n");
  }
}

}  // namespace polysweep
