// SM_CHECK: a broken invariant aborts loudly with context (STYLE.md §5,
// Postfix msg_panic). Not for input validation: bad input returns a Status.
#pragma once

namespace sealmail {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr);
}  // namespace sealmail

#define SM_CHECK(cond) \
  ((cond) ? (void)0 : ::sealmail::CheckFailed(__FILE__, __LINE__, #cond))
