// result.cpp -- names for Errc and the invariant failure path.
#include "common/result.hpp"

#include <cstddef>
#include <iterator>

#include "common/log.hpp"

namespace tg {

const char* errc_name(Errc e) {
  static constexpr const char* kNames[] = {"bad request",   "too large", "protocol error",
                                           "invalid utf-8", "closed",    "i/o error",
                                           "out of memory"};  // by Errc
  size_t i = static_cast<size_t>(e);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

void assert_failed(const char* expr, const char* file, int line) {
  log_line(LogLevel::kError, "assertion failed: %s (%s:%d)", expr, file, line);
  abort();
}

}  // namespace tg
