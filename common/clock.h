// Time as the coordinator reads it where it decides a timeout (a hang, a
// start that never comes, a drain, a command not acted on, the progress
// line's interval): an interface, so tests drive those decisions with a
// fake clock instead of sleeping.
#pragma once

#include <atomic>

namespace polysweep {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the epoch (wall time: it is journaled and shown to people).
  virtual double Now() const = 0;
};

// The system's wall clock. Stateless: one may be shared by any number of users.
class SystemClock : public Clock {
 public:
  double Now() const override;
};

// A clock that stands still until told to move: a test moves it from its
// own thread while the coordinator's thread reads it.
class FakeClock : public Clock {
 public:
  explicit FakeClock(double now = 1.0e9) : now_(now) {}
  double Now() const override { return now_.load(); }
  void Advance(double seconds) { now_.store(now_.load() + seconds); }  // one thread moves it

 private:
  std::atomic<double> now_;
};

}  // namespace polysweep
