// api_request.cpp -- parsing and validating publish API requests (rapidjson), and the
// key check (OpenSSL's SHA-256 and CRYPTO_memcmp).
#include "gateway/api_request.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <fstream>

#include "http/request.hpp"
#include "protocol/names.hpp"

namespace tg::gateway::api {

namespace {
constexpr size_t kMaxCidBytes = 64;  // as a client's cid (protocol/client_command.cpp)

Error bad(std::string code, std::string message) {
  return Error{400, std::move(code), std::move(message)};
}

// One message object; `where` names it in the message ("" or "item 3: ").
std::optional<Error> parse_item(const rapidjson::Value& v, const PublishLimits& limits,
                                const std::string& where, PublishItem& out) {
  if (!v.IsObject()) return bad("bad_request", where + "a message must be a JSON object");
  auto get = [&](const char* key, bool required, std::string& field) -> std::optional<Error> {
    auto it = v.FindMember(key);
    if (it == v.MemberEnd()) {
      if (!required) return std::nullopt;
      return bad("missing_field", where + "\"" + key + "\" is missing");
    }
    if (!it->value.IsString()) return bad("bad_type", where + "\"" + key + "\" must be a string");
    field.assign(it->value.GetString(), it->value.GetStringLength());
    return std::nullopt;
  };
  if (auto e = get("room", true, out.room)) return e;
  if (auto e = get("text", true, out.text)) return e;
  if (auto e = get("from", true, out.from)) return e;
  if (auto e = get("cid", false, out.cid)) return e;
  if (!protocol::valid_room(out.room))
    return bad("bad_room", where + "\"room\" must be 1-64 characters of A-Z a-z 0-9 _ - .");
  if (!protocol::valid_name(out.from))
    return bad("bad_name", where +
                               "\"from\" must be 1-32 bytes of UTF-8 without control characters "
                               "or surrounding spaces, not starting with guest-");
  if (out.text.size() > limits.max_text_bytes)
    return bad("too_big", where + "\"text\" is over --max-message-bytes (" +
                              std::to_string(limits.max_text_bytes) + " bytes)");
  if (out.cid.size() > kMaxCidBytes) return bad("bad_request", where + "\"cid\" is too long");
  return std::nullopt;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

std::optional<Error> parse_publish(std::string_view body, const PublishLimits& limits,
                                   std::vector<PublishItem>& items, bool& array) {
  items.clear();
  rapidjson::Document doc;
  // kParseValidateEncodingFlag: texts are relayed as UTF-8 JSON; invalid UTF-8 is refused.
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (doc.HasParseError())
    return bad("bad_json", std::string("malformed JSON: ") +
                               rapidjson::GetParseError_En(doc.GetParseError()) + " at byte " +
                               std::to_string(doc.GetErrorOffset()));
  array = doc.IsArray();
  if (!array) {
    items.emplace_back();
    return parse_item(doc, limits, "", items.back());
  }
  if (doc.Empty()) return bad("bad_request", "the array holds no message");
  if (doc.Size() > limits.max_items)
    return bad("too_many", "at most " + std::to_string(limits.max_items) + " messages a request");
  items.resize(doc.Size());
  for (rapidjson::SizeType i = 0; i < doc.Size(); ++i)
    if (auto e = parse_item(doc[i], limits, "message " + std::to_string(i) + ": ", items[i]))
      return e;
  return std::nullopt;
}

std::optional<Error> parse_history_query(std::string_view query, HistoryQuery& out) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!http::parse_query(query, params)) return bad("bad_request", "malformed query string");
  for (const auto& [k, v] : params) {
    uint64_t n = 0;
    if (k == "since" || k == "limit" || k == "epoch") {
      if (!parse_u64(v, n)) return bad("bad_request", "\"" + k + "\" must be a whole number");
    }
    if (k == "since") {
      out.since = n;
    } else if (k == "limit") {
      if (n < 1 || n > kMaxHistoryLimit)
        return bad("bad_request", "\"limit\" must be 1 to " + std::to_string(kMaxHistoryLimit));
      out.limit = static_cast<size_t>(n);
    } else if (k == "epoch") {
      out.epoch = n;
    }
  }
  return std::nullopt;
}

std::optional<Error> match_route(std::string_view path, Target& out) {
  using metrics::ApiRoute;
  out = Target{};
  if (path == "/api/publish") {
    out.route = ApiRoute::kPublish;
  } else if (path == "/api/rooms" || path == "/api/rooms/") {
    out.route = ApiRoute::kRooms;
  } else if (constexpr std::string_view kRooms = "/api/rooms/", kHistory = "/history";
             path.starts_with(kRooms) && path.ends_with(kHistory) &&
             path.size() > kRooms.size() + kHistory.size()) {
    std::string_view room =
        path.substr(kRooms.size(), path.size() - kRooms.size() - kHistory.size());
    if (room.find('/') != std::string_view::npos) return Error{404, "not_found", "no such route"};
    out.route = ApiRoute::kHistory;
    out.room.assign(room);
    if (!protocol::valid_room(out.room))
      return bad("bad_room", "the room must be 1-64 characters of A-Z a-z 0-9 _ - .");
  } else {
    return Error{404, "not_found", "no such route"};
  }
  return std::nullopt;
}

bool bearer_matches(std::string_view authorization, std::string_view key) {
  authorization = http::trim(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !http::iequals(authorization.substr(0, kScheme.size()), kScheme))
    return false;
  std::string_view given = http::trim(authorization.substr(kScheme.size()));
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), b);
  return !key.empty() && CRYPTO_memcmp(a, b, sizeof a) == 0;
}

std::optional<std::string> read_key_file(const std::string& path, std::string& error) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t b = 0, e = line.size();
  while (b < e && space(line[b])) ++b;
  while (e > b && space(line[e - 1])) --e;
  std::string key = line.substr(b, e - b);
  if (key.size() < kMinKeyBytes) {
    error = path + ": the key is " + (key.empty() ? "empty" : "too short") + " (at least " +
            std::to_string(kMinKeyBytes) + " bytes)";
    return std::nullopt;
  }
  return key;
}

std::string error_json(std::string_view code, std::string_view message) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("error");
  w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace tg::gateway::api
