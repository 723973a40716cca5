// Tests for the Batcher thread: ordering across inboxes, one batch per room per flush,
// a window per room, and the pending windows flushed at stop.
#include "batcher/batcher.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <span>
#include <string_view>
#include <utility>

#include "pool/ws_frame.hpp"

namespace tg::batcher {
namespace {

class RecordingSink : public BatchSink {
 public:
  void deliver(const std::vector<Batch>& batches) override {
    std::lock_guard lock(mu_);
    for (const Batch& b : batches) got_.push_back(b);
    cv_.notify_all();
  }
  SinkLoad load() override { return {}; }
  // Waits (bounded) until `n` events arrived; returns what arrived.
  std::vector<Batch> wait_for_events(uint64_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return count() >= n; });
    return got_;
  }

 private:
  uint64_t count() const {
    uint64_t c = 0;
    for (const Batch& b : got_) c += b.msg_count();
    return c;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Batch> got_;
};

Inbound event(const std::string& room, const std::string& text, uint64_t recv_ns) {
  Inbound e;
  e.room = room;
  e.from = "user";
  e.text = text;
  e.recv_ns = recv_ns;
  return e;
}

std::vector<std::string> texts_of(const Batch& b) {
  size_t h = pool::ws_header_length(b.json.data());
  rapidjson::Document doc;
  doc.Parse(b.json.data() + h, b.json.size() - h);
  std::vector<std::string> out;
  for (const auto& m : doc["msgs"].GetArray()) out.emplace_back(m["text"].GetString());
  return out;
}

// Rooms named "slow*" get a window of a minute, the others none; records what it was told.
class PerRoomPolicy : public WindowPolicy {
 public:
  uint64_t open_window_us(std::string_view room, uint64_t) override {
    return room.starts_with("slow") ? 60'000'000 : 0;
  }
  void observe(const FlushStats&, std::span<const RoomFlush> rooms) override {
    std::lock_guard lock(mu_);
    for (const RoomFlush& r : rooms) observed_.emplace_back(r.room, r.events);
  }
  std::vector<std::pair<std::string, uint64_t>> observed() {
    std::lock_guard lock(mu_);
    return observed_;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, uint64_t>> observed_;
};

}  // namespace

TEST(Batcher, EachRoomFlushesWhenItsOwnWindowCloses) {
  auto policy = std::make_unique<PerRoomPolicy>();
  PerRoomPolicy* seen = policy.get();
  Batcher b({1, 1}, std::make_unique<LocalSequencer>(), std::move(policy));
  RecordingSink sink;
  b.add_sink(&sink);
  b.start();
  b.inbox(0).push(event("slow", "s1", 1));
  b.inbox(0).push(event("fast", "f1", 2));
  b.notify();
  // "fast" goes out at once although "slow" has an open window of a minute.
  auto got = sink.wait_for_events(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].room, "fast");
  if (b.inbox(0).push(event("slow", "s2", 3))) b.notify();
  if (b.inbox(0).push(event("fast", "f2", 4))) b.notify();
  got = sink.wait_for_events(2);
  b.stop();  // flushes the slow room's window
  got = sink.wait_for_events(4);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].room, "fast");
  EXPECT_EQ(got[2].room, "slow");
  EXPECT_EQ(got[2].msg_count(), 2u);  // both of its messages, in one batch
  auto observed = seen->observed();
  ASSERT_EQ(observed.size(), 3u);
  EXPECT_EQ(observed[2], (std::pair<std::string, uint64_t>{"slow", 2}));
}

TEST(Batcher, MergesInboxesInReceiveOrderOneBatchPerRoom) {
  // A long window so that everything pushed below lands in one flush (the stop one).
  Batcher b({2, 1}, std::make_unique<LocalSequencer>(), std::make_unique<FixedWindow>(60000000));
  RecordingSink sink;
  b.add_sink(&sink);
  b.json_clients() = 1;
  b.start();
  b.inbox(0).push(event("x", "x1", 10));
  b.inbox(1).push(event("x", "x2", 20));
  b.inbox(0).push(event("y", "y1", 25));
  b.inbox(0).push(event("x", "x3", 30));
  b.notify();
  b.stop();  // flushes the pending window
  auto got = sink.wait_for_events(4);
  ASSERT_EQ(got.size(), 2u);
  const Batch& x = got[0].room == "x" ? got[0] : got[1];
  const Batch& y = got[0].room == "x" ? got[1] : got[0];
  EXPECT_EQ(texts_of(x), (std::vector<std::string>{"x1", "x2", "x3"}));
  EXPECT_EQ(texts_of(y), (std::vector<std::string>{"y1"}));
  EXPECT_EQ(x.msg_count(), 3u);
  EXPECT_EQ(y.msg_count(), 1u);
  // Every room of a fresh process starts above the seqs issued before it: whichever of
  // the two was sequenced first starts at 1, the other after it.
  EXPECT_EQ(std::min(x.first_msg, y.first_msg), 1u);
  EXPECT_EQ(std::max(x.first_msg, y.first_msg), x.first_msg == 1 ? 4u : 2u);
}

TEST(Batcher, ZeroWindowFlushesALoneEventWithoutWaitingForStop) {
  Batcher b({1, 1}, std::make_unique<LocalSequencer>(), std::make_unique<FixedWindow>(0));
  RecordingSink sink;
  b.add_sink(&sink);
  b.start();
  if (b.inbox(0).push(event("r", "alone", 1))) b.notify();
  auto got = sink.wait_for_events(1);
  b.stop();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, 1u);
  EXPECT_FALSE(got[0].json);  // no JSON client: no JSON frame
}

}  // namespace tg::batcher
