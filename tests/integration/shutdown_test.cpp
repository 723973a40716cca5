// Integration: SIGTERM flushes the pending window, closes every client with 1001 and
// exits 0.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <memory>
#include <thread>
#include <vector>

#include "chat_client.hpp"
#include "gateway_process.hpp"

namespace tg::test {

TEST(Shutdown, SigtermFlushesThePendingWindowAndClosesEveryoneWith1001) {
  // A 5 s window: the message below is still pending when SIGTERM arrives.
  GatewayProcess gw(gateway_binary(), {"--workers", "2", "--window-ms", "5000"});
  ASSERT_TRUE(gw.ok());
  std::vector<std::unique_ptr<ChatClient>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<ChatClient>());
    ASSERT_TRUE(clients.back()->connect(gw.port(), "", i % 2 == 0));
  }
  ASSERT_TRUE(clients[0]->send("last words"));
  // The server has the message once it answers a ping sent after it (same connection,
  // handled in order).
  ASSERT_TRUE(clients[0]->send(R"({"t":"ping","id":1})"));
  while (clients[0]->notices().empty()) ASSERT_TRUE(clients[0]->read_one(10000));

  int status = -1;
  std::thread stopper([&] { status = gw.signal_and_wait(SIGTERM, 15000); });
  for (size_t i = 0; i < clients.size(); ++i) {
    ChatClient& c = *clients[i];
    EXPECT_EQ(c.read_until_closed(15000), 1001) << "client " << i;
    auto msgs = c.msgs();
    ASSERT_EQ(msgs.size(), 1u) << "client " << i;
    EXPECT_EQ(msgs[0].text, "last words");
  }
  stopper.join();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace tg::test
