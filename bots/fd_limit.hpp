// fd_limit.hpp -- raises RLIMIT_NOFILE so one process can hold tens of thousands of sockets.
#pragma once

#include <cstdint>

namespace tg::bots {

// Raises the soft limit on open files to at least `wanted` (and the hard limit too when
// the process may, e.g. as root). Returns the soft limit in force afterwards, which can
// be lower than `wanted`; the caller decides whether that is fatal.
uint64_t raise_fd_limit(uint64_t wanted);

}  // namespace tg::bots
