// config.cpp -- defaults of Config that depend on the machine.
#include "gateway/config.hpp"

#include <unistd.h>

#include <algorithm>

namespace tg::gateway {

size_t default_history_total_bytes() {
  constexpr size_t kCap = size_t{4} << 30;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return size_t{64} << 20;
  size_t physical = static_cast<size_t>(pages) * static_cast<size_t>(page);
  return std::min(physical / 8, kCap);
}

}  // namespace tg::gateway
