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
#include <thread>
#include <utility>

#include "common/clock.hpp"
#include "pool/ws_frame.hpp"

namespace tg::batcher {
namespace {

class RecordingSink : public BatchSink {
 public:
  void deliver(const std::vector<Batch>& batches, const std::vector<RoomCut>& cuts) override {
    std::lock_guard lock(mu_);
    for (const Batch& b : batches) got_.push_back(b);
    for (const RoomCut& c : cuts) cuts_.push_back(c);
    cv_.notify_all();
  }
  SinkLoad load() override { return {}; }
  // Waits (bounded) until `n` events arrived; returns what arrived.
  std::vector<Batch> wait_for_events(uint64_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return count() >= n; });
    return got_;
  }
  // Waits (bounded) until a cut that forgets `room` arrived; returns whether one did.
  bool wait_for_forget(const std::string& room) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const RoomCut& c : cuts_)
        if (c.forget && c.room == room) return true;
      return false;
    });
  }
  std::vector<RoomCut> cuts() {
    std::lock_guard lock(mu_);
    return cuts_;
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
  std::vector<RoomCut> cuts_;
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

namespace tg::batcher {
namespace {

Inbound membership(const std::string& room, InboundKind kind, uint64_t recv_ns) {
  Inbound e = event(room, "", recv_ns);
  e.kind = kind;
  return e;
}

}  // namespace

TEST(Batcher, OverTheTotalBudgetTheLeastRecentlyActiveRoomIsCutFirst) {
  // One message per room, rooms of the same name length: batches of about one size S
  // (all frames counted), measured with the encoder; a budget of 2.5 S holds two.
  const std::string text(60, 'q');
  Inbound probe = event("r1", text, 1);
  const Inbound* probe_ptr = &probe;
  BatchEncoder encoder(1);
  // (No v2 member: the batches have no tidegate.v2.zstd frame.)
  size_t one = encoder.encode("r1", {1, 1, 0}, {&probe_ptr, 1}, false).history_bytes();
  Batcher::Options o;
  o.history_total_bytes = one * 2 + one / 2;
  Batcher b(o, std::make_unique<LocalSequencer>(), std::make_unique<FixedWindow>(0));
  RecordingSink sink;
  b.add_sink(&sink);
  b.start();
  uint64_t n = 0;
  for (const char* room : {"r1", "r2", "r3"}) {
    if (b.inbox(0).push(event(room, text, ++n))) b.notify();
    ASSERT_EQ(sink.wait_for_events(n).size(), n);
  }
  b.stop();
  auto cuts = sink.cuts();
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_EQ(cuts[0].room, "r1");       // the least recently active room
  EXPECT_EQ(cuts[0].first_batch, 2u);  // its only batch (seq 1) dropped
  EXPECT_FALSE(cuts[0].forget);
  EXPECT_LE(b.counters().history_bytes.get(), o.history_total_bytes);
  EXPECT_EQ(b.counters().history_evicted_batches.get(), 1u);
  EXPECT_EQ(b.counters().history_budget.get(), o.history_total_bytes);
}

TEST(Batcher, AnEmptyRoomExpiresAfterItsTtlAndComesBackAboveEverySeq) {
  Batcher::Options o;
  o.room_ttl_ms = 200;
  Batcher b(o, std::make_unique<LocalSequencer>(), std::make_unique<FixedWindow>(0));
  RecordingSink sink;
  b.add_sink(&sink);
  b.start();
  // A member joins (the directory first, as a Shard does), talks and leaves.
  auto inc = b.rooms().join("r", mono_ns());
  ASSERT_TRUE(inc.has_value());
  EXPECT_EQ(inc->first_msg, 1u);
  b.inbox(0).push(membership("r", InboundKind::kJoin, 1));
  b.inbox(0).push(event("r", "hello", 2));
  b.inbox(0).push(membership("r", InboundKind::kLeave, 3));
  b.notify();
  auto got = sink.wait_for_events(3);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].last_msg, 3u);
  EXPECT_EQ(got[0].incarnation, inc->id);
  b.rooms().leave("r", mono_ns());
  EXPECT_EQ(b.rooms().size(), 1u);
  ASSERT_TRUE(sink.wait_for_forget("r"));
  EXPECT_EQ(b.rooms().size(), 0u);
  EXPECT_EQ(b.counters().rooms_expired.get(), 1u);
  EXPECT_EQ(b.counters().history_bytes.get(), 0u);

  // Created again: a new incarnation whose seqs start above the old ones.
  auto again = b.rooms().join("r", mono_ns());
  ASSERT_TRUE(again.has_value());
  EXPECT_GT(again->id, inc->id);
  EXPECT_EQ(again->first_msg, 4u);
  EXPECT_EQ(again->first_batch, 2u);
  if (b.inbox(0).push(membership("r", InboundKind::kJoin, 4))) b.notify();
  got = sink.wait_for_events(4);
  b.stop();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].seq, 2u);
  EXPECT_EQ(got[1].first_msg, 4u);
  EXPECT_EQ(got[1].incarnation, again->id);
  b.rooms().leave("r", mono_ns());
}

TEST(Batcher, ARoomWithAMemberNeverExpires) {
  Batcher::Options o;
  o.room_ttl_ms = 100;
  Batcher b(o, std::make_unique<LocalSequencer>(), std::make_unique<FixedWindow>(0));
  RecordingSink sink;
  b.add_sink(&sink);
  b.start();
  ASSERT_TRUE(b.rooms().join("kept", mono_ns()).has_value());
  if (b.inbox(0).push(membership("kept", InboundKind::kJoin, 1))) b.notify();
  sink.wait_for_events(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // several sweeps past the TTL
  b.stop();
  EXPECT_EQ(b.rooms().size(), 1u);
  EXPECT_EQ(b.counters().rooms_expired.get(), 0u);
  EXPECT_TRUE(sink.cuts().empty());
}

// Publish API messages (a ticket) are answered to the Shard that received them with
// their seq, after their batch was delivered; client messages get no receipt.
TEST(Batcher, TicketedMessagesGetReceiptsAfterTheirBatch) {
  class ReceiptSink : public RecordingSink {
   public:
    void sequenced(std::vector<Receipt> receipts) override {
      std::lock_guard lock(mu_);
      // The batch holding each receipt's message was delivered before it.
      for (const Receipt& r : receipts) {
        bool delivered = false;
        for (const Batch& b : wait_for_events(0))
          delivered = delivered || (b.first_msg <= r.seq && r.seq <= b.last_msg);
        EXPECT_TRUE(delivered) << r.seq;
        got_.push_back(r);
      }
    }
    std::vector<Receipt> receipts() {
      std::lock_guard lock(mu_);
      return got_;
    }

   private:
    std::mutex mu_;
    std::vector<Receipt> got_;
  };
  Batcher b({2, 1}, std::make_unique<LocalSequencer>(), std::make_unique<FixedWindow>(60000000));
  ReceiptSink sink0, sink1;
  b.add_sink(&sink0);
  b.add_sink(&sink1);
  b.start();
  Inbound api1 = event("x", "api-1", 20);
  api1.ticket = 7;
  api1.shard = 1;
  Inbound api2 = event("y", "api-2", 30);
  api2.ticket = 8;
  api2.shard = 1;
  b.inbox(0).push(event("x", "client", 10));
  b.inbox(1).push(std::move(api1));
  b.inbox(1).push(std::move(api2));
  b.stop();  // one flush: x gets seqs 1 and 2, y starts above them
  auto got = sink1.wait_for_events(3);
  ASSERT_EQ(got.size(), 2u);
  std::vector<Receipt> r = sink1.receipts();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(sink0.receipts().empty());
  const Batch& x = got[0].room == "x" ? got[0] : got[1];
  const Batch& y = got[0].room == "y" ? got[0] : got[1];
  const Receipt& r7 = r[0].ticket == 7 ? r[0] : r[1];
  const Receipt& r8 = r[0].ticket == 8 ? r[0] : r[1];
  EXPECT_EQ(r7.ticket, 7u);
  EXPECT_EQ(r7.seq, x.first_msg + 1);  // after the client's message, received earlier
  EXPECT_EQ(r8.ticket, 8u);
  EXPECT_EQ(r8.seq, y.first_msg);
  EXPECT_EQ(r7.epoch, 0u);
}

// --- tidegate.v2.zstd: a room has a stream only while it has v2 members (or lately) ---

namespace {
Inbound v2_member(const std::string& room, InboundKind kind, uint64_t recv_ns) {
  Inbound e = event(room, "", recv_ns);
  e.kind = kind;
  e.v2 = true;
  return e;
}

// Waits (bounded) until the gauge of open room streams reads `n`.
bool wait_for_streams(const Batcher& b, uint64_t n) {
  for (int i = 0; i < 1000; ++i) {
    if (b.counters().v2_streams.get() == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}
}  // namespace

TEST(Batcher, WithoutAV2MemberARoomHasNoStreamNorV2Frames) {
  Batcher b({1, 1}, std::make_unique<LocalSequencer>(), std::make_unique<FixedWindow>(0));
  RecordingSink sink;
  b.add_sink(&sink);
  b.start();
  Inbound v1_join = event("r", "", 1);
  v1_join.kind = InboundKind::kJoin;  // a v1 member
  if (b.inbox(0).push(std::move(v1_join))) b.notify();
  for (uint64_t i = 2; i <= 4; ++i) {
    if (b.inbox(0).push(event("r", "m", i))) b.notify();
    ASSERT_GE(sink.wait_for_events(i).size(), 1u);
  }
  b.stop();
  auto got = sink.wait_for_events(4);
  ASSERT_FALSE(got.empty());
  for (const Batch& batch : got) {
    EXPECT_TRUE(batch.no_stream) << batch.seq;
    EXPECT_EQ(batch.v2.size(), 0u) << batch.seq;
    EXPECT_FALSE(batch.keyframe) << batch.seq;
  }
  EXPECT_EQ(b.counters().v2_streams.get(), 0u);
  EXPECT_EQ(b.counters().v2_bytes.get(), 0u);
}

// --zstd-v2-level reaches the room streams: the same batches come out in other bytes.
TEST(Batcher, TheV2LevelIsTheRoomStreamsLevel) {
  auto v2_bytes = [](int level) {
    Batcher::Options o;
    o.zstd_v2_level = level;
    Batcher b(o, std::make_unique<LocalSequencer>(), std::make_unique<FixedWindow>(0));
    RecordingSink sink;
    b.add_sink(&sink);
    b.start();
    std::string text;
    for (int i = 0; i < 40; ++i)
      text += "message " + std::to_string(i * 7919 % 1000) + " of the quick brown fox; ";
    uint64_t n = 0;
    for (Inbound e : {v2_member("r", InboundKind::kJoin, 1), event("r", text, 2),
                      event("r", text.substr(100) + text.substr(0, 100), 3)}) {
      if (b.inbox(0).push(std::move(e))) b.notify();
      EXPECT_EQ(sink.wait_for_events(++n).size(), n);  // one batch per event
    }
    b.stop();
    std::string all;
    for (const Batch& batch : sink.wait_for_events(n)) all.append(batch.v2.data(), batch.v2.size());
    return all;
  };
  std::string fast = v2_bytes(1);
  std::string best = v2_bytes(19);
  ASSERT_FALSE(fast.empty());
  ASSERT_FALSE(best.empty());
  EXPECT_NE(fast, best);
}

TEST(Batcher, AV2MemberStartsTheStreamWithAKeyframeAndItOutlivesTheLeaveByTheLinger) {
  Batcher::Options o;
  o.zstd_keyframe_ms = 600'000;  // a linger no test run reaches
  Batcher b(o, std::make_unique<LocalSequencer>(), std::make_unique<FixedWindow>(0));
  RecordingSink sink;
  b.add_sink(&sink);
  b.start();
  // Each event waits for the previous one's batch: one batch per event.
  uint64_t n = 0;
  for (Inbound e :
       {event("r", "before", 1), v2_member("r", InboundKind::kJoin, 2), event("r", "member", 3),
        v2_member("r", InboundKind::kLeave, 4), event("r", "lingering", 5)}) {
    if (b.inbox(0).push(std::move(e))) b.notify();
    ASSERT_EQ(sink.wait_for_events(++n).size(), n);
  }
  EXPECT_EQ(b.counters().v2_streams.get(), 1u);
  b.stop();
  auto got = sink.wait_for_events(5);
  EXPECT_TRUE(got[0].no_stream);
  EXPECT_EQ(got[0].v2.size(), 0u);
  for (size_t i = 1; i < got.size(); ++i) {
    EXPECT_FALSE(got[i].no_stream) << i;
    EXPECT_GT(got[i].v2.size(), 0u) << i;
    EXPECT_EQ(got[i].keyframe, i == 1) << i;  // the join's batch starts the stream
  }
}

TEST(Batcher, TheStreamIsFreedOnceTheLastV2MemberLeftLongerThanTheLinger) {
  Batcher::Options o;
  o.zstd_keyframe_ms = 100;
  Batcher b(o, std::make_unique<LocalSequencer>(), std::make_unique<FixedWindow>(0));
  RecordingSink sink;
  b.add_sink(&sink);
  b.start();
  // Each event waits for the previous one's batch: one batch per event.
  auto send = [&](Inbound e, uint64_t n) {
    if (b.inbox(0).push(std::move(e))) b.notify();
    auto got = sink.wait_for_events(n);
    EXPECT_EQ(got.size(), n);
    return got.size() == n ? got.back() : Batch{};
  };
  EXPECT_GT(send(v2_member("r", InboundKind::kJoin, 1), 1).v2.size(), 0u);
  send(v2_member("r", InboundKind::kJoin, 2), 2);  // a second one
  EXPECT_EQ(b.counters().v2_streams.get(), 1u);
  send(v2_member("r", InboundKind::kLeave, 3), 3);
  // One member is left: a quiet room gives its context back (the sweep), but the room
  // keeps its member count, and its next batch starts a fresh context with a keyframe.
  ASSERT_TRUE(wait_for_streams(b, 0));
  Batch next = send(event("r", "still a member", 4), 4);
  EXPECT_GT(next.v2.size(), 0u);
  EXPECT_TRUE(next.keyframe);
  EXPECT_EQ(b.counters().v2_streams.get(), 1u);
  send(v2_member("r", InboundKind::kLeave, 5), 5);
  ASSERT_TRUE(wait_for_streams(b, 0));  // the sweep frees it after the linger
  Batch after = send(event("r", "after", 6), 6);
  b.stop();
  EXPECT_TRUE(after.no_stream);
  EXPECT_EQ(after.v2.size(), 0u);
  EXPECT_EQ(b.counters().v2_streams.get(), 0u);
}

}  // namespace tg::batcher
