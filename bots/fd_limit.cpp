// fd_limit.cpp -- setrlimit(RLIMIT_NOFILE) for the swarm.
#include "bots/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace tg::bots {

uint64_t raise_fd_limit(uint64_t wanted) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur >= wanted) return lim.rlim_cur;
  if (lim.rlim_max < wanted) {
    rlimit higher{wanted, wanted};
    if (setrlimit(RLIMIT_NOFILE, &higher) == 0) return wanted;  // allowed to raise the hard limit
  }
  lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, wanted);
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

}  // namespace tg::bots
