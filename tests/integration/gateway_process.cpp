// gateway_process.cpp -- fork/exec of the gateway with its stdout on a pipe.
#include "gateway_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace tg::test {

std::string gateway_binary() {
  const char* bin = std::getenv("TIDEGATE_BIN");
  return bin ? bin : "tidegate";
}

GatewayProcess::GatewayProcess(const std::string& binary, const std::vector<std::string>& args,
                               int open_files) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    if (open_files > 0) {
      rlimit rl{rlim_t(open_files), rlim_t(open_files)};
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
    }
    // Metrics on a free port too: the default 127.0.0.1:9464 would collide between tests.
    std::vector<std::string> all = {binary, "--listen",         "127.0.0.1:0", "--log-level",
                                    "warn", "--metrics-listen", "127.0.0.1:0"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  out_fd_ = fds[0];
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    char buf[256];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) break;  // the process died before listening: fail fast
    line.append(buf, n);
  }
  const char* prefix = "listening 127.0.0.1:";
  size_t at = line.find(prefix);
  if (at != std::string::npos)
    port_ = static_cast<uint16_t>(std::atoi(line.c_str() + at + strlen(prefix)));
}

int GatewayProcess::signal_and_wait(int sig, int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

GatewayProcess::~GatewayProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
}

}  // namespace tg::test
