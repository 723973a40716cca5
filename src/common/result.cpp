// result.cpp -- names for Errc and the invariant failure path.
#include "common/result.hpp"

#include "common/log.hpp"

namespace tg {

const char* errc_name(Errc e) {
  switch (e) {
    case Errc::kBadRequest:
      return "bad request";
    case Errc::kTooLarge:
      return "too large";
    case Errc::kProtocol:
      return "protocol error";
    case Errc::kInvalidUtf8:
      return "invalid utf-8";
    case Errc::kClosed:
      return "closed";
    case Errc::kIo:
      return "i/o error";
    case Errc::kNoMemory:
      return "out of memory";
  }
  return "unknown";
}

void assert_failed(const char* expr, const char* file, int line) {
  log_line(LogLevel::kError, "assertion failed: %s (%s:%d)", expr, file, line);
  abort();
}

}  // namespace tg
