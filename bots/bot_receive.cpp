// bot_receive.cpp -- what one simulated client does with what it receives: frames,
// batches (seqs, echoes, latency) and notices. The connection's lifecycle, reading and
// writing are in bot.cpp.
#include "bots/bot.hpp"

#include <utility>
#include <vector>

#include "bots/bot_loop.hpp"
#include "bots/cid.hpp"
#include "bots/decoded_batch.hpp"
#include "bots/notice.hpp"

namespace tg::bots {

void Bot::on_ws_message(bool binary, std::span<const uint8_t> data) {
  Counters& c = loop_.counters();
  ++c.frames;
  if (loop_.measuring()) ++c.frames_measured;
  if (loop_.config().sink) return;
  // permessage-deflate: RSV1 marks a deflated batch. The gateway keeps no context, so
  // equal bytes are an equal batch and the cache works as for zstd frames.
  const bool deflated = codec_->message_rsv1();
  const bool v2 = binary && loop_.config().subprotocol == "v2";
  const bool maybe_batch = binary || deflated || loop_.json_mode();
  uint64_t hash = 0;
  std::span<const uint8_t> key = data;
  if (v2) key = v2_cache_key(data);
  if (maybe_batch) {
    hash = BatchCache::hash_of(key);
    if (const DecodedBatch* cached = loop_.cache().find(hash, key)) {
      ++c.cache_hits;
      count_batch_frame(data.size());
      return on_batch(*cached);
    }
  }
  DecodedBatch batch;
  Notice notice;
  FrameDecoder& decoder = loop_.decoder();
  const FrameDecoder::Kind kind = v2         ? decoder.decode_v2(data, v2_place_, batch, notice)
                                  : deflated ? decoder.decode_deflated(data, batch, notice)
                                             : decoder.decode(binary, data, batch, notice);
  switch (kind) {
    case FrameDecoder::Kind::kBatch:
      ++c.decodes;
      count_batch_frame(data.size());
      return on_batch(*loop_.cache().insert(hash, key, std::move(batch)));
    case FrameDecoder::Kind::kNotice:
      return on_notice(notice);
    case FrameDecoder::Kind::kInvalid:
      ++c.errors;
      return;
  }
}

std::span<const uint8_t> Bot::v2_cache_key(std::span<const uint8_t> frame) {
  if (!frame.empty() && (frame[0] & 0x01) != 0) {  // a keyframe: a new chain starts
    v2_place_ = {BatchCache::hash_of(frame), 0};
  } else {
    ++v2_place_.index;
  }
  std::vector<uint8_t>& key = loop_.v2_key();
  key.assign(frame.begin(), frame.end());
  const uint64_t place[2] = {v2_place_.chain, v2_place_.index};
  const auto* p = reinterpret_cast<const uint8_t*>(place);
  key.insert(key.end(), p, p + sizeof place);
  return key;
}

void Bot::count_batch_frame(size_t bytes) {
  if (!loop_.measuring()) return;
  loop_.counters().batch_bytes += bytes;
  ++loop_.counters().batch_frames;
}

void Bot::on_ws_close(uint16_t status) {
  // Whether this ends the bot or it reconnects is decided once the close handshake is
  // over (lost_connection), by this status.
  got_close_ = true;
  close_status_ = status;
}

void Bot::add_seq_deltas(const SeqTracker& before) {
  Counters& c = loop_.counters();
  c.holes += seq_.holes() - before.holes();
  c.hole_msgs += seq_.hole_msgs() - before.hole_msgs();
  c.order_errors += seq_.order_errors() - before.order_errors();
  c.announced_lost += seq_.announced() - before.announced();
  c.duplicates += seq_.duplicates() - before.duplicates();
  c.epoch_resets += seq_.epoch_resets() - before.epoch_resets();
}

void Bot::on_batch(const DecodedBatch& batch) {
  if (state_ != State::kOpen && state_ != State::kClosing) return;
  Counters& c = loop_.counters();
  if (batch.room != loop_.room_name(spec_.room)) {
    ++c.errors;  // a batch of a room this client never joined
    return;
  }
  loop_.saw_batch(spec_.room, batch.batch_seq);
  if (batch.msg_count == 0) return;
  if (!batch.consecutive) ++c.order_errors;
  const SeqTracker before = seq_;
  const uint64_t fresh_from = seq_.on_batch(batch.first_seq, batch.last_seq);
  add_seq_deltas(before);
  // A repeat (the server sent seqs this bot had) delivers only its new part: counting
  // it again would hide a loss elsewhere. Rare, so counted message by message.
  uint64_t fresh = batch.run_msgs;
  if (fresh_from > batch.first_seq) {
    fresh = 0;
    for (const OwnMessage& m : batch.own) fresh += m.seq >= fresh_from ? 1 : 0;
  }
  received_ += fresh;
  c.deliveries += fresh;
  if (counted_) loop_.count_received(spec_.room, fresh);
  if (counting_resumed_) count_resumed(batch, fresh_from);
  if (!spec_.slow && fresh > 0) {
    // All bots share one steady clock, so every member can time every message.
    const int64_t now = BotLoop::now_us();
    for (const OwnMessage& m : batch.own) {
      if (m.seq >= fresh_from) loop_.record_delivery(now - m.sent_us);
    }
  }
  if (spec_.sender && echoed_ + refused_ < sent_) on_echoes(batch, fresh_from);
}

void Bot::count_resumed(const DecodedBatch& batch, uint64_t fresh_from) {
  // Resumed: sent before this connection opened, so only the resume could bring it
  // (or a message already under way at that instant). The replay comes first; a batch
  // holding only messages sent since the reopen ends the counting.
  uint64_t before = 0;
  bool since = false;
  for (const OwnMessage& m : batch.own) {
    if (m.seq < fresh_from) continue;
    if (m.sent_us < conn_opened_us_) {
      ++before;
    } else {
      since = true;
    }
  }
  loop_.counters().resumed_msgs += before;
  if (since && before == 0) counting_resumed_ = false;
}

void Bot::on_echoes(const DecodedBatch& batch, uint64_t fresh_from) {
  const int64_t now = BotLoop::now_us();
  for (const OwnMessage& m : batch.sent_by(spec_.id)) {
    if (m.seq < fresh_from) continue;  // a repeat: timed and settled the first time
    loop_.record_latency(now - m.sent_us);
    ++echoed_;
    ++loop_.counters().echoes;
    settle(m.sent_us);
  }
}

void Bot::settle(int64_t sent_us) {
  // Connections do not overlap and the bot sends only while open, so the send time
  // says which connection a message went out on.
  if (sent_us >= conn_opened_us_) {
    ++settled_on_conn_;
  } else if (in_doubt_ > 0) {
    --in_doubt_;
    loop_.add_in_doubt(spec_.room, -1);
  }
}

void Bot::on_notice(const Notice& notice) {
  Counters& c = loop_.counters();
  switch (notice.type) {
    case Notice::Type::kHello:
      return on_hello(notice);
    case Notice::Type::kPong:
      if (notice.id != 0 && notice.id <= ping_id_ && ping_id_ - notice.id < ping_sent_us_.size()) {
        loop_.record_ping(BotLoop::now_us() - ping_sent_us_[notice.id % ping_sent_us_.size()]);
        ++c.pongs;
        c.pong_window_us += static_cast<uint64_t>(notice.window_ms * 1000.0 + 0.5);
      }
      return;
    case Notice::Type::kGap: {
      ++c.gap_notices;
      if (notice.to < notice.from) return void(++c.errors);
      const SeqTracker before = seq_;
      seq_.on_gap(notice.from, notice.to);
      add_seq_deltas(before);
      return;
    }
    case Notice::Type::kJoined: {
      // The bots send no joins: a joined for their room is the server's word that the
      // room's epoch changed (after a gap for what was lost).
      if (notice.room != loop_.room_name(spec_.room)) return;
      const SeqTracker before = seq_;
      if (seq_.on_joined(notice.seq, notice.epoch)) uncount();
      add_seq_deltas(before);
      return;
    }
    case Notice::Type::kError:
      if (notice.code == "unavailable") return on_unavailable(notice);
      ++c.errors;
      return;
    default:
      return;
  }
}

void Bot::on_hello(const Notice& notice) {
  if (state_ != State::kAwaitingHello) return;
  if (notice.room != loop_.room_name(spec_.room)) ++loop_.counters().errors;
  bool live = false;
  if (reconnecting_) {
    const SeqTracker before = seq_;
    // Another epoch: the server ignored `since` and started live. What this bot missed
    // cannot be known any more, so from here on it is checked for holes only.
    live = seq_.resume(notice.seq, notice.epoch) == SeqTracker::Resume::kEpochReset;
    if (live) uncount();
    add_seq_deltas(before);
  } else {
    seq_.start(notice.seq, notice.epoch);
  }
  if (loop_.config().subprotocol == "v2") seq_.allow_replay();
  opened();
  if (live) counting_resumed_ = false;  // nothing is replayed
}

void Bot::on_unavailable(const Notice& notice) {
  // The server could not take something (its backplane is down): a message, which will
  // never be delivered to anyone, or (no cid) a join.
  ++loop_.counters().unavailable;
  if (notice.cid.empty()) return;
  const auto cid = Cid::parse(notice.cid, loop_.run());
  if (!cid || cid->bot != spec_.id) return;  // not a message of this bot
  ++refused_;
  ++loop_.counters().refused_msgs;
  loop_.count_refused(spec_.room);
  settle(cid->sent_us);
}

}  // namespace tg::bots
