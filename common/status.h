// Status and StatusOr: how errors cross module boundaries in polysweep.
// A failed Status carries a code (what kind of failure, for code that
// decides what to do about it) and one human-readable message that already
// names the file, line or config key at fault; callers add context, never
// replace it, and the code travels with the message.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace polysweep {

enum class StatusCode {
  kOk,
  kUnknown,            // not classified (Status::Error)
  kInvalidConfig,      // a config, a hyperparameter or an argument that cannot work
  kDataError,          // a data file, shard or manifest that is missing, corrupt or inconsistent
  kNotFound,           // a file, trial or sweep that is not there
  kUnavailable,        // a peer that does not answer (the coordinator, a rank); trying again may help
  kDeadlineExceeded,   // a timeout passed (a collective, a reply)
  kResourceExhausted,  // out of memory (host or device), disk full
  kInternal,           // a broken invariant: a bug
};

// "invalid config", "data error", ...: as logs and the journal spell it.
const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(StatusCode::kUnknown, std::move(message)); }
  static Status Error(StatusCode code, std::string message) { return Status(code, std::move(message)); }
  static Status InvalidConfig(std::string m) { return Status(StatusCode::kInvalidConfig, std::move(m)); }
  static Status DataError(std::string m) { return Status(StatusCode::kDataError, std::move(m)); }
  static Status NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(StatusCode::kUnavailable, std::move(m)); }
  static Status DeadlineExceeded(std::string m) { return Status(StatusCode::kDeadlineExceeded, std::move(m)); }
  static Status ResourceExhausted(std::string m) { return Status(StatusCode::kResourceExhausted, std::move(m)); }
  static Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

  bool ok() const { return !message_.has_value(); }
  StatusCode code() const { return code_; }
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }
  // Returns a copy whose message is "context: message" (same code).
  Status With(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + *message_);
  }
  // A copy with `code`, for a layer that knows what the failure means.
  Status As(StatusCode code) const { return ok() ? *this : Status(code, *message_); }

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  StatusCode code_ = StatusCode::kOk;
  std::optional<std::string> message_;
};

template <typename T>
class StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace polysweep

#define PS_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::polysweep::Status ps_status_ = (expr);  \
    if (!ps_status_.ok()) return ps_status_;  \
  } while (0)
