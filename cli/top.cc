#include "cli/top.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <vector>

#include "common/files.h"
#include "cli/table.h"
#include "cli/views.h"

namespace polysweep {
namespace {

constexpr const char* kReset = "\x1b[0m";
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kStalled = "\x1b[1;37;41m";  // bold white on red

std::string Pad(std::string s, size_t width, bool right = false) {
  if (s.size() >= width) return s;
  const std::string pad(width - s.size(), ' ');
  return right ? pad + s : s + pad;
}

std::string Bar(int64_t step, int64_t max_steps, int width) {
  const double f = max_steps > 0 ? std::clamp(static_cast<double>(step) / static_cast<double>(max_steps), 0.0, 1.0) : 0;
  const int filled = static_cast<int>(std::lround(f * width));
  char pct[8];
  std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(std::floor(f * 100)));
  return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "] " + pct;
}

// Visible length: escape sequences take no columns.
size_t Visible(const std::string& s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b') {
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;  // UTF-8 continuation bytes take none
  }
  return n;
}

// Cuts a line to `width` visible columns, keeping escape sequences whole.
std::string Cut(const std::string& s, int width, bool color) {
  if (static_cast<int>(Visible(s)) <= width) return s;
  std::string out;
  int n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b') {
      const size_t end = s.find('m', i);
      out += s.substr(i, end - i + 1);
      i = end;
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && ++n > width) break;
    out += s[i];
  }
  return out + (color ? kReset : "");
}

// Running first, then those waiting to run on, then those not yet started, then the ended.
int Order(TrialState state) {
  if (state == TrialState::kRunning) return 0;
  if (state == TrialState::kPaused || state == TrialState::kPreempted || state == TrialState::kInterrupted) return 1;
  if (state == TrialState::kPending) return 2;
  return 3;
}

}  // namespace

std::string RenderTop(const wire::StatusReply& s, const std::string& source, double now, const TopFrame& f) {
  auto paint = [&](const char* code, const std::string& text) { return f.color ? code + text + kReset : text; };
  std::vector<std::string> lines;
  char clock[16];
  const std::time_t t = static_cast<std::time_t>(now);
  std::strftime(clock, sizeof clock, "%H:%M:%S", std::localtime(&t));
  const double end = s.finished_at() > 0 ? s.finished_at() : now;
  lines.push_back(paint(kBold, "polysweep top") + "  sweep " + s.sweep() + " (" + s.state() + ", " +
                  Duration(end - s.created_at()) + ")  " + clock + "  q quits");
  std::map<std::string, int> by_state;
  double throughput = 0;
  for (const auto& tr : s.trials()) {
    by_state[tr.state()]++;
    if (StateOf(tr) == TrialState::kRunning) throughput += tr.samples_per_sec();
  }
  std::string counts = "trials " + std::to_string(s.trials_size()) + " of " + std::to_string(s.max_trials()) + " issued";
  for (const auto& [state, n] : by_state) counts += ", " + std::to_string(n) + " " + state;
  lines.push_back(counts);
  std::string summary = "metric " + s.metric() + " (" + (s.maximize() ? "max" : "min") + ")";
  if (auto best = BestTrial(s)) summary += "  best trial " + std::to_string(best->id()) + " " + Fixed(best->metric(), 4);
  summary += "  " + Fixed(throughput, 1) + " samples/s";
  const double left = EstimateSecondsLeft(s, now);
  if (left >= 0) summary += "  eta at most " + Duration(left);
  lines.push_back(summary);
  lines.push_back(paint(kDim, source));
  lines.push_back("");
  lines.push_back(paint(kBold, Pad("ID", 5, true) + "  " + Pad("STATE", 10) + "  " + Pad("PROGRESS", 27) + "  " +
                                   Pad("STEP", 13, true) + "  " + Pad("LOSS", 8, true) + "  " +
                                   Pad(s.metric(), 9, true) + "  " + Pad("SAMPLES/S", 9, true) + "  HYPERPARAMETERS"));

  std::vector<const wire::TrialSummary*> trials;
  for (const auto& tr : s.trials()) trials.push_back(&tr);
  std::stable_sort(trials.begin(), trials.end(), [](const auto* a, const auto* b) {
    const int oa = Order(StateOf(*a)), ob = Order(StateOf(*b));
    if (oa != ob) return oa < ob;
    return oa == 3 ? a->id() > b->id() : a->id() < b->id();  // ended: newest first
  });
  const int budget = std::max(1, f.height - static_cast<int>(lines.size()) - 1);
  int shown = 0, used = 0;
  for (const auto* tr : trials) {
    const bool running = StateOf(*tr) == TrialState::kRunning;
    const int needs = 1 + (running ? tr->ranks_size() : 0);
    if (used + needs > budget) break;
    used += needs;
    ++shown;
    const std::string state = running ? paint(kGreen, Pad(tr->state(), 10)) : Pad(tr->state(), 10);
    lines.push_back(Pad(std::to_string(tr->id()), 5, true) + "  " + state + "  " + Bar(tr->step(), tr->max_steps(), 20) +
                    "  " + Pad(std::to_string(tr->step()) + "/" + std::to_string(tr->max_steps()), 13, true) + "  " +
                    Pad(tr->step() > 0 ? Fixed(tr->loss(), 4) : "-", 8, true) + "  " +
                    Pad(tr->has_metric() ? Fixed(tr->metric(), 4) : "-", 9, true) + "  " +
                    Pad(tr->samples_per_sec() > 0 ? Fixed(tr->samples_per_sec(), 1) : "-", 9, true) + "  " +
                    ParamsText(tr->hparams()));
    if (StateOf(*tr) != TrialState::kRunning) continue;
    for (const auto& r : tr->ranks()) {
      std::string line = "         rank " + std::to_string(r.rank()) + "  " + r.host() + " pid " + std::to_string(r.pid()) +
                         "  step " + std::to_string(r.step()) + "  " + Fixed(r.steps_per_sec(), 1) + " steps/s  idle " +
                         Fixed(r.idle_seconds(), 1) + " s";
      if (r.stalled()) line += "  " + (f.color ? paint(kStalled, " STALLED ") : std::string("STALLED"));
      lines.push_back(line);
    }
  }
  if (shown < static_cast<int>(trials.size())) {
    lines.push_back(paint(kDim, "... " + std::to_string(trials.size() - shown) + " more trials (polysweep trials)"));
  }
  std::string out;
  for (const auto& line : lines) out += Cut(line, f.width, f.color) + "\n";
  return out;
}

namespace {

// The terminal in the state `top` needs: the alternate screen, keys read one
// at a time without echo, the cursor hidden; restored by the destructor.
class Screen {
 public:
  Screen() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      restore_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    std::cout << "\x1b[?1049h\x1b[?25l" << std::flush;
  }
  ~Screen() {
    std::cout << "\x1b[?25h\x1b[?1049l" << std::flush;
    if (restore_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

 private:
  termios saved_{};
  bool restore_ = false;
};

TopFrame TerminalFrame() {
  TopFrame f;
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    f.width = ws.ws_col;
    f.height = ws.ws_row;
  }
  f.color = std::getenv("NO_COLOR") == nullptr;
  return f;
}

}  // namespace

int RunTop(const StatusSource& fetch, bool once) {
  if (once || !isatty(STDOUT_FILENO)) {
    std::string source;
    auto status = fetch(&source);
    if (!status.ok()) {
      std::cerr << "polysweep: error: " << status.status().message() << "\n";
      return 2;
    }
    TopFrame plain;
    plain.color = false;
    plain.height = 1000000;
    plain.width = 1000000;
    std::cout << RenderTop(*status, source, WallSeconds(), plain);
    return 0;
  }
  // Ctrl-C, kill and resizes arrive as readable events, not as handlers.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGWINCH, SIGHUP}) sigaddset(&signals, sig);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int sfd = signalfd(-1, &signals, SFD_CLOEXEC);
  Screen screen;
  int code = 0;
  while (true) {
    std::string source;
    auto status = fetch(&source);
    const TopFrame frame = TerminalFrame();
    std::string text = status.ok() ? RenderTop(*status, source, WallSeconds(), frame)
                                   : "polysweep top: " + status.status().message() + "\n(retrying; q quits)\n";
    // Home, draw over the old frame line by line, clear what is left.
    std::string out = "\x1b[H";
    size_t start = 0, nl;
    while ((nl = text.find('\n', start)) != std::string::npos) {
      out += text.substr(start, nl - start) + "\x1b[K\r\n";
      start = nl + 1;
    }
    std::cout << out << "\x1b[J" << std::flush;
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sfd, POLLIN, 0}};
    const int ready = poll(fds, sfd >= 0 ? 2 : 1, 1000);
    if (ready <= 0) continue;
    if (fds[0].revents & POLLIN) {
      char c = 0;
      if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q')) break;
    }
    if (sfd >= 0 && (fds[1].revents & POLLIN)) {
      signalfd_siginfo info{};
      if (read(sfd, &info, sizeof info) == sizeof info && info.ssi_signo != SIGWINCH) {
        code = info.ssi_signo == SIGINT ? 0 : 128 + static_cast<int>(info.ssi_signo);
        break;
      }
    }
  }
  if (sfd >= 0) close(sfd);
  return code;
}

}  // namespace polysweep
