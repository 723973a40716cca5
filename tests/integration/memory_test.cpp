// Integration: what clients cost in gateway memory, read from /proc/<pid>/status of the
// real binary. Not run under the sanitizers (scripts/test): there the process's memory
// is mostly the sanitizer's own (ASan's quarantine of freed blocks, shadow memory).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "chat_client.hpp"
#include "gateway_process.hpp"
#include "ws_client.hpp"

namespace tg::test {
namespace {

// A line of /proc/<pid>/status ("VmRSS", "VmHWM"), in KiB.
long proc_status_kib(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

}  // namespace

TEST(Memory, ANeverReadingClientCostsBoundedMemory) {
  // A client that connects and never reads a byte costs one stuck write of at most
  // --client-inflight bytes, of frames the room's log holds for everyone anyway; the
  // log itself is bounded by --history-bytes. Push 32 MiB of poorly compressible chat
  // past it: if the gateway queued for it, its memory would grow by about that much;
  // bounded, it grows by a few MiB (here: the 1 MiB log and the batches in flight).
  constexpr int kMessages = 32 * 1024;
  GatewayProcess gw(gateway_binary(), {"--workers", "1", "--history-bytes", "1048576",
                                       "--client-inflight", "16384", "--rate-limit", "0"});
  ASSERT_TRUE(gw.ok());
  WsClient stalled;  // JSON (the biggest frames), a small receive buffer, never read
  ASSERT_EQ(stalled.connect(gw.port(), "/ws", "tidegate.v1.json", 4096), 101);
  ChatClient reader, sender;
  ASSERT_TRUE(reader.connect(gw.port(), "", true));
  ASSERT_TRUE(sender.connect(gw.port(), "", true));
  const long rss_before = proc_status_kib(gw.pid(), "VmRSS");
  ASSERT_GT(rss_before, 0);

  std::mt19937 rng(11);
  constexpr int kLead = 512;  // the sender's lead on the reader: well within the log
  for (int k = 0; k < kMessages; k += kLead) {
    for (int j = 0; j < kLead; ++j) ASSERT_TRUE(sender.send(noise(rng, 1024)));
    ASSERT_TRUE(reader.read_until_msgs(k + kLead, 30000)) << "reader stuck at " << k;
    while (sender.read_one(0)) {
    }
  }
  EXPECT_TRUE(reader.gaps().empty());
  const long peak_growth_mib = (proc_status_kib(gw.pid(), "VmHWM") - rss_before) / 1024;
  std::printf("gateway memory: %ld KiB before, peak %ld MiB more after 32 MiB of traffic\n",
              rss_before, peak_growth_mib);
  EXPECT_LT(peak_growth_mib, 16) << "the gateway buffered for the client that never reads";
  EXPECT_FALSE(stalled.closed());  // skip policy: it is not closed, only skipped
}

}  // namespace tg::test
