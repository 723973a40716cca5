// gateway_process.hpp -- GatewayProcess: runs the real tidegate binary for a test on
// 127.0.0.1 port 0, reads the port back, and always stops it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tg::test {

class GatewayProcess {
 public:
  // Starts `binary` with --listen 127.0.0.1:0 plus `args`, and waits (bounded) for its
  // "listening" line. ok() tells whether it came up. `open_files` > 0 sets the process's
  // open-file limit, soft and hard, to that (so that it cannot raise it).
  GatewayProcess(const std::string& binary, const std::vector<std::string>& args,
                 int open_files = 0);
  ~GatewayProcess();  // SIGKILLs the process if it still runs

  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends `sig` and waits up to `timeout_ms` for the exit. Returns the exit status as
  // waitpid() reports it, or -1 if it did not exit in time.
  int signal_and_wait(int sig, int timeout_ms);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  uint16_t port_ = 0;
};

// The path of the gateway binary, from the TIDEGATE_BIN environment variable.
std::string gateway_binary();

}  // namespace tg::test
