// Status and Result<T>: how every component reports failure across its boundary
// (../shared/STYLE.md §4: no exceptions across component boundaries).
//
// A Status is a small closed code plus a human message. The codes that matter
// for delivery policy are kTransient (try again later) and kPermanent (never
// again); kInvalid is bad input or configuration (exit 1 at the CLI), kBlocked
// is a preflight or leak-guard refusal (exit 2).
//
// Value types; thread-compatible (distinct objects may be used from different
// threads; one object needs external synchronisation).
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sealmail {

class Status {
 public:
  enum class Code : int {
    kOk = 0,
    kInvalid = 1,    // bad input or configuration
    kNotFound = 2,   // a named thing does not exist
    kIo = 3,         // the operating system refused (disk full, permission)
    kTransient = 4,  // temporary: retry later
    kPermanent = 5,  // final: do not retry
    kBlocked = 6,    // preflight or leak guard refused
    kCorrupt = 7,    // stored data is not what we wrote
    kInternal = 8,   // a broken invariant that was caught
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status Invalid(std::string msg) { return Status(Code::kInvalid, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Io(std::string msg) { return Status(Code::kIo, std::move(msg)); }
  static Status Transient(std::string msg) { return Status(Code::kTransient, std::move(msg)); }
  static Status Permanent(std::string msg) { return Status(Code::kPermanent, std::move(msg)); }
  static Status Blocked(std::string msg) { return Status(Code::kBlocked, std::move(msg)); }
  static Status Corrupt(std::string msg) { return Status(Code::kCorrupt, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>".
  Status WithPrefix(std::string_view prefix) const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

std::string_view CodeName(Status::Code code);

// Result<T>: either a value or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) std::abort();     // an OK Status carries no value
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sealmail

// Propagate a non-OK Status from an expression returning Status.
#define SM_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::sealmail::Status sm_status_ = (expr);    \
    if (!sm_status_.ok()) return sm_status_;   \
  } while (0)

#define SM_CONCAT_INNER(a, b) a##b
#define SM_CONCAT(a, b) SM_CONCAT_INNER(a, b)
// Assign the value of a Result expression to lhs or return its Status.
#define SM_ASSIGN_OR_RETURN(lhs, expr) \
  SM_ASSIGN_OR_RETURN_IMPL(SM_CONCAT(sm_result_, __LINE__), lhs, expr)
#define SM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
