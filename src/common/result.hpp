// result.hpp -- tg::Result<T>: a value or an Errc, for code that must not throw.
#pragma once

#include <cassert>
#include <cstdlib>
#include <utility>
#include <variant>

namespace tg {

// Every failure the data path can report. Library codes (libuv's negative ints,
// wslay's WSLAY_ERR_*) are mapped to one of these at the wrapper that calls them.
enum class Errc {
  kBadRequest,   // malformed HTTP or protocol input
  kTooLarge,     // input over a configured limit
  kProtocol,     // WebSocket protocol violation
  kInvalidUtf8,  // text that is not UTF-8
  kClosed,       // the peer or we closed the connection
  kIo,           // a socket call failed
  kNoMemory,
};

const char* errc_name(Errc e);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Errc e) : v_(e) {}                  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const {
    assert(ok());
    return std::get<0>(v_);
  }
  Errc error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Errc> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Errc e) : err_(e), ok_(false) {}  // NOLINT: implicit by design
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  Errc error() const {
    assert(!ok_);
    return err_;
  }

 private:
  Errc err_ = Errc::kIo;
  bool ok_ = true;
};

// Invariant check that stays on in release builds: a broken invariant is a bug and
// continuing would corrupt state shared by every client.
#define TG_ASSERT(cond)                                          \
  do {                                                           \
    if (!(cond)) ::tg::assert_failed(#cond, __FILE__, __LINE__); \
  } while (0)

[[noreturn]] void assert_failed(const char* expr, const char* file, int line);

}  // namespace tg
