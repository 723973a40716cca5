// report.cpp -- summary text and JSON of a finished swarm run.
#include "bots/report.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cstdio>

namespace tg::bots {
namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

double ms(uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

void write_histogram(Writer& w, const char* name, const Histogram& h) {
  w.Key(name);
  w.StartObject();
  // Tables of JSON fields: one key and its value a line.
  // clang-format off
  w.Key("count"); w.Uint64(h.count());
  w.Key("p50"); w.Double(ms(h.percentile(50)));
  w.Key("p90"); w.Double(ms(h.percentile(90)));
  w.Key("p99"); w.Double(ms(h.percentile(99)));
  w.Key("p999"); w.Double(ms(h.percentile(99.9)));
  w.Key("max"); w.Double(ms(h.max()));
  w.Key("mean"); w.Double(h.mean() / 1000.0);
  // clang-format on
  w.EndObject();
}

void write_config(Writer& w, const SwarmConfig& c) {
  w.Key("config");
  w.StartObject();
  // clang-format off
  w.Key("url"); w.String(c.urls.empty() ? "" : c.urls.front().c_str());
  w.Key("urls"); w.StartArray();
  for (const std::string& url : c.urls) w.String(url.c_str());
  w.EndArray();
  w.Key("reconnect"); w.Bool(c.reconnect);
  w.Key("clients"); w.Uint(c.clients);
  w.Key("senders"); w.Uint(c.sender_count());
  w.Key("rate"); w.Double(c.rate);
  w.Key("size"); w.Uint(c.size);
  w.Key("rooms"); w.Uint(c.rooms);
  w.Key("duration"); w.Double(c.duration);
  w.Key("ramp"); w.Double(c.ramp);
  w.Key("subprotocol"); w.String(c.subprotocol.c_str());
  w.Key("threads"); w.Uint(c.threads);
  w.Key("ping"); w.Bool(c.ping);
  w.Key("slow_clients"); w.Uint(c.slow_count());
  w.Key("slow_read_bps"); w.Double(c.slow_read_bps);
  w.Key("sink"); w.Bool(c.sink);
  // clang-format on
  w.EndObject();
}

void write_counters(Writer& w, const Counters& c) {
  // clang-format off
  w.Key("connects"); w.Uint64(c.connects);
  w.Key("connect_failures"); w.Uint64(c.connect_failures);
  w.Key("disconnects"); w.Uint64(c.disconnects);
  w.Key("server_closes"); w.Uint64(c.server_closes);
  w.Key("policy_closes"); w.Uint64(c.policy_closes);
  w.Key("errors"); w.Uint64(c.errors);
  w.Key("deliveries_all"); w.Uint64(c.deliveries);
  w.Key("echoes"); w.Uint64(c.echoes);
  w.Key("frames_received"); w.Uint64(c.frames);
  w.Key("frames_measured"); w.Uint64(c.frames_measured);
  w.Key("bytes_received"); w.Uint64(c.bytes);
  w.Key("batch_bytes_received"); w.Uint64(c.batch_bytes);
  w.Key("batch_frames_measured"); w.Uint64(c.batch_frames);
  w.Key("gap_notices"); w.Uint64(c.gap_notices);
  w.Key("announced_lost"); w.Uint64(c.announced_lost);
  w.Key("holes"); w.Uint64(c.holes);
  w.Key("hole_msgs"); w.Uint64(c.hole_msgs);
  w.Key("order_errors"); w.Uint64(c.order_errors);
  w.Key("duplicates"); w.Uint64(c.duplicates);
  w.Key("reconnects"); w.Uint64(c.reconnects);
  w.Key("reconnect_failures"); w.Uint64(c.reconnect_failures);
  w.Key("resumed_msgs"); w.Uint64(c.resumed_msgs);
  w.Key("epoch_resets"); w.Uint64(c.epoch_resets);
  w.Key("unavailable"); w.Uint64(c.unavailable);
  w.Key("refused_msgs"); w.Uint64(c.refused_msgs);
  w.Key("pings_sent"); w.Uint64(c.pings_sent);
  w.Key("pongs"); w.Uint64(c.pongs);
  w.Key("batch_decodes"); w.Uint64(c.decodes);
  w.Key("batch_cache_hits"); w.Uint64(c.cache_hits);
  // clang-format on
}

void write_rooms(Writer& w, const RunTotals& t) {
  w.Key("rooms");
  w.StartArray();
  for (const auto& r : t.rooms) {
    w.StartObject();
    // clang-format off
    w.Key("name"); w.String(r.name.c_str());
    w.Key("members"); w.Uint64(r.members);
    w.Key("sent"); w.Uint64(r.sent);
    w.Key("refused"); w.Uint64(r.refused);
    w.Key("in_doubt"); w.Uint64(r.in_doubt);
    w.Key("received"); w.Uint64(r.received);
    w.Key("batches"); w.Uint64(r.batches.count());
    // clang-format on
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

Report::Report(const SwarmConfig& config, const RunTotals& totals)
    : config_(config), totals_(totals) {}

uint64_t Report::deliveries_expected() const {
  uint64_t n = 0;
  for (const auto& r : totals_.rooms) n += r.members * r.deliverable();
  return n;
}

uint64_t Report::deliveries_received() const {
  uint64_t n = 0;
  for (const auto& r : totals_.rooms) n += r.received;
  return n;
}

int64_t Report::lost() const {
  return static_cast<int64_t>(deliveries_expected()) - static_cast<int64_t>(deliveries_received());
}

uint64_t Report::in_doubt() const {
  uint64_t n = 0;
  for (const auto& r : totals_.rooms) n += r.in_doubt;
  return n;
}

uint64_t Report::batches_measured() const {
  uint64_t n = 0;
  for (const auto& r : totals_.rooms) n += r.batches.count();
  return n;
}

uint64_t Report::messages_sent() const {
  uint64_t n = 0;
  for (const auto& r : totals_.rooms) n += r.sent;
  return n;
}

double Report::bytes_per_delivery() const {
  const auto d = totals_.counters.deliveries;
  return d == 0 ? 0.0 : static_cast<double>(totals_.counters.bytes) / static_cast<double>(d);
}

double Report::batch_bytes_per_delivery() const {
  const auto d = totals_.counters.deliveries;
  return d == 0 ? 0.0 : static_cast<double>(totals_.counters.batch_bytes) / static_cast<double>(d);
}

double Report::deliveries_per_second() const {
  return totals_.send_seconds <= 0
             ? 0.0
             : static_cast<double>(totals_.counters.deliveries) / totals_.send_seconds;
}

double Report::messages_per_second() const {
  return totals_.send_seconds <= 0 ? 0.0
                                   : static_cast<double>(messages_sent()) / totals_.send_seconds;
}

bool Report::failed() const {
  return totals_.unannounced_lost > 0 || totals_.counters.holes > 0 ||
         totals_.counters.order_errors > 0 || totals_.counters.duplicates > 0 ||
         totals_.extra_deliveries > 0;
}

bool Report::connection_problems() const {
  const Counters& c = totals_.counters;
  return c.connect_failures > 0 || c.disconnects > c.policy_closes;
}

int Report::exit_code() const {
  if (totals_.counters.connects == 0) return 2;
  if (failed()) return 1;
  return connection_problems() ? 3 : 0;
}

void Report::latency_lines(std::string& out) const {
  char line[256];
  const auto print = [&](const char* name, const Histogram& h) {
    std::snprintf(line, sizeof line,
                  "%-8s n=%llu p50=%.2fms p90=%.2fms p99=%.2fms p99.9=%.2fms max=%.2fms\n", name,
                  static_cast<unsigned long long>(h.count()), ms(h.percentile(50)),
                  ms(h.percentile(90)), ms(h.percentile(99)), ms(h.percentile(99.9)), ms(h.max()));
    out += line;
  };
  print("latency", totals_.latency_us);
  print("delivery", totals_.delivery_us);
  if (config_.ping) print("ping", totals_.ping_us);
}

std::string Report::summary() const {
  const Counters& c = totals_.counters;
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "== summary ==\n"
      "clients %u  connected %llu  connect failures %llu  disconnects %llu  errors %llu\n"
      "messages sent %llu (%.1f/s over %.1fs)\n"
      "deliveries expected %llu  received %llu  lost %lld  (all clients %llu, %.0f/s)\n"
      "gap notices %llu (announced lost %llu)  unannounced holes %llu  unannounced lost %llu"
      "  order errors %llu\n"
      "slow clients %llu (received %llu, announced lost %llu)  excluded clients %llu\n"
      "bytes received %llu  per delivery %.1f (batch payload %.1f)  batch decodes %llu  "
      "cache hits %llu\n",
      config_.clients, (unsigned long long)c.connects, (unsigned long long)c.connect_failures,
      (unsigned long long)c.disconnects, (unsigned long long)c.errors,
      (unsigned long long)messages_sent(), messages_per_second(), totals_.send_seconds,
      (unsigned long long)deliveries_expected(), (unsigned long long)deliveries_received(),
      (long long)lost(), (unsigned long long)c.deliveries, deliveries_per_second(),
      (unsigned long long)c.gap_notices, (unsigned long long)c.announced_lost,
      (unsigned long long)c.holes, (unsigned long long)totals_.unannounced_lost,
      (unsigned long long)c.order_errors, (unsigned long long)totals_.slow_clients,
      (unsigned long long)totals_.slow_received, (unsigned long long)totals_.slow_announced,
      (unsigned long long)totals_.excluded_clients, (unsigned long long)c.bytes,
      bytes_per_delivery(), batch_bytes_per_delivery(), (unsigned long long)c.decodes,
      (unsigned long long)c.cache_hits);
  std::string out = buf;
  std::snprintf(buf, sizeof buf,
                "reconnects %llu (failures %llu)  resumed msgs %llu  duplicates %llu  epoch "
                "resets %llu  unavailable %llu (own msgs refused %llu)  msgs in doubt %llu\n",
                (unsigned long long)c.reconnects, (unsigned long long)c.reconnect_failures,
                (unsigned long long)c.resumed_msgs, (unsigned long long)c.duplicates,
                (unsigned long long)c.epoch_resets, (unsigned long long)c.unavailable,
                (unsigned long long)c.refused_msgs, (unsigned long long)in_doubt());
  out += buf;
  if (config_.sink) {
    std::snprintf(buf, sizeof buf,
                  "sink: frames received %llu (%llu while sending and draining), nothing "
                  "decoded or checked\n",
                  (unsigned long long)c.frames, (unsigned long long)c.frames_measured);
    out += buf;
  }
  latency_lines(out);
  if (failed()) {
    out += "result: FAIL (unannounced loss, holes, duplicates or reordering)\n";
  } else if (connection_problems()) {
    out += "result: FAIL (connect failures or dropped connections)\n";
  } else {
    out += "result: ok\n";
  }
  return out;
}

std::string Report::json() const {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  write_config(w, config_);
  // clang-format off
  w.Key("clients"); w.Uint(config_.clients);
  w.Key("send_seconds"); w.Double(totals_.send_seconds);
  w.Key("elapsed_seconds"); w.Double(totals_.elapsed_seconds);
  w.Key("messages_sent"); w.Uint64(messages_sent());
  w.Key("messages_per_second"); w.Double(messages_per_second());
  w.Key("in_doubt_msgs"); w.Uint64(in_doubt());
  w.Key("deliveries_expected"); w.Uint64(deliveries_expected());
  w.Key("deliveries_received"); w.Uint64(deliveries_received());
  w.Key("deliveries_per_second"); w.Double(deliveries_per_second());
  w.Key("lost"); w.Int64(lost());
  w.Key("unannounced_lost"); w.Uint64(totals_.unannounced_lost);
  w.Key("short_clients"); w.Uint64(totals_.short_clients);
  w.Key("extra_deliveries"); w.Uint64(totals_.extra_deliveries);
  w.Key("excluded_clients"); w.Uint64(totals_.excluded_clients);
  w.Key("excluded_received"); w.Uint64(totals_.excluded_received);
  w.Key("slow_clients"); w.Uint64(totals_.slow_clients);
  w.Key("slow_received"); w.Uint64(totals_.slow_received);
  w.Key("slow_announced_lost"); w.Uint64(totals_.slow_announced);
  w.Key("bytes_per_delivery"); w.Double(bytes_per_delivery());
  w.Key("batch_bytes_per_delivery"); w.Double(batch_bytes_per_delivery());
  w.Key("batches_measured"); w.Uint64(batches_measured());
  // clang-format on
  write_counters(w, totals_.counters);
  write_histogram(w, "latency_ms", totals_.latency_us);
  write_histogram(w, "ping_ms", totals_.ping_us);
  write_histogram(w, "delivery_ms", totals_.delivery_us);
  write_rooms(w, totals_);
  // clang-format off
  w.Key("failed"); w.Bool(failed());
  w.Key("exit_code"); w.Int(exit_code());
  // clang-format on
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

}  // namespace tg::bots
