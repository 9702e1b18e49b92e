#include "base/check.h"

#include <cstdio>
#include <cstdlib>

namespace sealmail {
void CheckFailed(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "sealmail: internal error: %s:%d: check failed: %s\n", file, line, expr);
  std::abort();
}
}  // namespace sealmail
