#include "launcher/slurm_output.h"

#include <signal.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace polysweep {

std::uintmax_t LogEnd(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

std::string ReadLogFrom(const std::string& path, std::uintmax_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int SignalFromName(const std::string& name) {
  for (int s = 1; s < NSIG; ++s) {
    const char* text = strsignal(s);
    if (text && name == text) return s;
  }
  return 0;
}

std::string SlurmStepId(const std::string& text) {
  static const std::regex kStep(R"((?:StepId=|\*\*\* STEP )([0-9]+(?:_[0-9]+)?\.[0-9a-z]+))");
  std::smatch m;
  return std::regex_search(text, m, kStep) ? m[1].str() : "";
}

std::optional<ExitInfo> ParseSrunOutput(const std::string& text) {
  // srun: error: HOST: task 1: Exited with exit code 3
  // srun: error: HOST: tasks 0-1: Killed
  static const std::regex kTask(R"(^srun: error: [^:]+: tasks? ([0-9,\-\[\]]+): (.*)$)");
  // slurmstepd-HOST: error: *** STEP 1.0 ON HOST CANCELLED AT T [DUE TO TIME LIMIT] ***
  static const std::regex kCancel(R"(\*\*\* (STEP|JOB) ([0-9._a-z]+) ON \S+ CANCELLED AT \S+( DUE TO [A-Z ]+?)? \*\*\*)");
  static const std::regex kOom(R"(Detected [0-9]+ oom.kill event)");
  // srun: error: task 0 launch failed: Unspecified error
  static const std::regex kLaunch(R"(^srun: error: task ([0-9]+) launch failed: (.*)$)");
  static const std::regex kCreate(R"(^srun: error: (Unable to create step.*|.*Requested node configuration is not available.*)$)");
  std::optional<ExitInfo> end;
  bool oom = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, kOom)) oom = true;
    if (end) continue;
    if (std::regex_search(line, m, kTask)) {
      const std::string ranks = m[1].str();
      std::string what = m[2].str();
      const std::string who = (ranks.find_first_of(",-") == std::string::npos ? "rank " : "ranks ") + ranks;
      static const std::regex kExit(R"(Exited with exit code ([0-9]+))");
      std::smatch e;
      ExitInfo info;
      if (std::regex_search(what, e, kExit)) {
        info.exit_code = std::stoi(e[1].str());
        if (info.exit_code == 0) continue;
        info.cause = who + " exited with code " + e[1].str();
      } else {
        const size_t core = what.find(" (core dumped)");
        if (core != std::string::npos) what = what.substr(0, core);
        info.signal = SignalFromName(what);
        if (info.signal == 0) info.exit_code = 1;
        info.cause = who + ": " + m[2].str();
      }
      end = info;
    } else if (std::regex_search(line, m, kCancel)) {
      ExitInfo info;
      info.signal = SIGTERM;
      std::string due = m[3].str();
      for (auto& c : due) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      info.cause = "Slurm " + std::string(m[1].str() == "STEP" ? "step " : "job ") + m[2].str() + " cancelled" + due;
      end = info;
    } else if (std::regex_search(line, m, kLaunch)) {
      // srun itself may exit 0 then: no rank ever ran.
      ExitInfo info = ExitInfo::Code(1, "Slurm could not launch rank " + m[1].str() + ": " + m[2].str());
      info.not_started = true;
      end = info;
    } else if (std::regex_search(line, m, kCreate)) {
      ExitInfo info;
      info.exit_code = 1;
      info.cause = "srun: " + m[1].str();
      end = info;
    }
  }
  if (oom) {
    if (!end) end = ExitInfo::Code(1);
    end->cause = "out of memory (Slurm oom-kill)" + (end->cause.empty() ? "" : "; " + end->cause);
  }
  if (end) {
    const std::string step = SlurmStepId(text);
    if (!step.empty() && end->cause.find(step) == std::string::npos) end->cause += " (Slurm step " + step + ")";
  }
  return end;
}

}  // namespace polysweep
