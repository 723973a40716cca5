// connection_auth.cpp -- a connection under --auth: the handshake's token, what rooms the
// client may read and send to, the refresh command and the close when a token expires
// (docs/PROTOCOL.md, Authentication).
#include <chrono>
#include <cmath>
#include <iterator>
#include <string_view>

#include "auth/verifier.hpp"
#include "common/log.hpp"
#include "gateway/connection.hpp"
#include "gateway/shard.hpp"
#include "http/response.hpp"
#include "protocol/names.hpp"
#include "protocol/notice.hpp"

namespace tg::gateway {

namespace {

using metrics::AuthRefuseReason;

// The close frame has this long to leave before the connection is dropped (as idle).
constexpr uint64_t kExpiredCloseMs = 2000;

// A token error is counted under the reason of the same name: TG_AUTH_REFUSE_REASONS
// starts with TG_TOKEN_ERRORS' rows, in order.
constexpr bool same_label(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return *a == *b;
}
constexpr bool token_errors_lead_refuse_reasons() {
#define TG_LABEL(e, label) label,
  constexpr const char* kTokenLabels[] = {TG_TOKEN_ERRORS(TG_LABEL)};
#undef TG_LABEL
  for (size_t i = 0; i < std::size(kTokenLabels); ++i)
    if (!same_label(kTokenLabels[i], metrics::kAuthRefuseReasonNames[i])) return false;
  return std::size(kTokenLabels) == static_cast<size_t>(auth::TokenError::kCount);
}
static_assert(token_errors_lead_refuse_reasons(),
              "TG_AUTH_REFUSE_REASONS must start with auth::TokenError's reasons, in order");

AuthRefuseReason reason_of(auth::TokenError e) {
  return static_cast<AuthRefuseReason>(e);
}

double wall_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// RFC 6750 3: the challenge of a refused bearer token; `error` empty when the request
// had none (3.1: then no error code).
std::string challenge(std::string_view error) {
  std::string h = "WWW-Authenticate: Bearer realm=\"tidegate\"";
  if (!error.empty()) {
    h += ", error=\"";
    h += error;
    h += '"';
  }
  h += "\r\n";
  return h;
}

}  // namespace

bool Connection::auth_on() const {
  return shard_.config().auth != AuthMode::kOff;
}

void Connection::count_auth(AuthRefuseReason why) {
  shard_.counters().auth_refused[slot(why)].add();
}

bool Connection::authenticate(protocol::Handshake& hs, bool head) {
  const Config& config = shard_.config();
  if (config.auth == AuthMode::kOff) return true;  // tokens are not looked at
  auto refuse = [&](int status, AuthRefuseReason why, std::string_view error,
                    const std::string& body) {
    count_auth(why);
    hs.status = status;
    hs.response = http::http_response(status, "text/plain; charset=utf-8", body + "\n",
                                      challenge(error), !head);
    if (log_enabled(LogLevel::kDebug))
      log_fields(LogLevel::kDebug,
                 {{"event", "auth_refused"},
                  {"conn", id_},
                  {"peer", peer_},
                  {"reason", metrics::kAuthRefuseReasonNames[slot(why)]}},
                 "conn %lu: authentication refused (%s)", id_,
                 metrics::kAuthRefuseReasonNames[slot(why)]);
    return false;
  };
  if (hs.token.empty()) {
    if (config.auth == AuthMode::kRequired)
      return refuse(401, AuthRefuseReason::kMissing, "",
                    "a token is required: ?token= or Authorization: Bearer");
    if (!auth::matches_any(config.anonymous_rooms, hs.room))
      return refuse(403, AuthRefuseReason::kForbiddenRoom, "insufficient_scope",
                    "this room needs a token (anonymous users may use: --anonymous-rooms)");
    return true;  // anonymous
  }
  // A token that does not verify is refused even under optional: its holder meant to
  // sign in, and silently serving it as anonymous would hide the fault.
  auth::Verdict v = config.verifier->verify(hs.token, wall_seconds(), config.jwt_leeway_s);
  hs.token.clear();  // not kept: nothing later needs it, nor may log it
  if (!v.ok()) return refuse(401, reason_of(v.error), "invalid_token", v.reason);
  if (!v.claims->rooms.can_read(hs.room))
    return refuse(403, AuthRefuseReason::kForbiddenRoom, "insufficient_scope",
                  "your token does not allow this room");
  user_ = std::make_unique<auth::Claims>(std::move(*v.claims));
  return true;
}

void Connection::answer_auth_check(const http::HttpRequest& req) {
  bool head = req.method == "HEAD";
  auto answer = [&](int status, std::string body) {
    respond_and_close(http::http_response(status, "text/plain; charset=utf-8", body + "\n",
                                          "Cache-Control: no-store\r\n", !head));
  };
  if (req.method != "GET" && !head) {
    respond_and_close(http::http_error(405, "Allow: GET, HEAD\r\n"));
    return;
  }
  if (!auth_on()) return answer(200, "authentication is off: anyone may connect");
  protocol::Handshake hs;
  std::vector<std::pair<std::string, std::string>> params;
  if (!http::parse_query(req.query, params)) return answer(400, "bad query");
  for (auto& [k, v] : params)
    if (k == "room") hs.room = v;
  if (!protocol::valid_room(hs.room)) return answer(400, "bad room name");
  hs.token = protocol::bearer_token(req);
  if (!authenticate(hs, head)) {
    respond_and_close(std::move(hs.response));
    return;
  }
  answer(200, user_ ? "ok: " + user_->name : std::string("ok: anonymous"));
}

bool Connection::may_read(const std::string& room) const {
  if (user_) return user_->rooms.can_read(room);
  return !auth_on() || auth::matches_any(shard_.config().anonymous_rooms, room);
}

bool Connection::may_publish(const std::string& room) const {
  if (user_) return user_->rooms.can_publish(room);
  return !auth_on() || auth::matches_any(shard_.config().anonymous_rooms, room);
}

void Connection::handle_refresh(const std::string& token) {
  const Config& config = shard_.config();
  if (!auth_on()) {
    protocol::append_error(ctrl_, "bad_request", "authentication is off on this server");
    return;
  }
  if (!user_) {
    // Signing in changes who the connection is (name, rooms): reconnect with the token.
    count_auth(AuthRefuseReason::kAnonymousRefresh);
    protocol::append_error(ctrl_, "forbidden",
                           "an anonymous connection cannot refresh: reconnect with the token");
    return;
  }
  auth::Verdict v = config.verifier->verify(token, wall_seconds(), config.jwt_leeway_s);
  if (!v.ok()) {
    count_auth(reason_of(v.error));
    protocol::append_error(ctrl_, "invalid_token", v.reason);
    return;
  }
  if (v.claims->sub != user_->sub) {
    count_auth(AuthRefuseReason::kOtherUser);
    protocol::append_error(ctrl_, "forbidden", "the new token is another user's");
    return;
  }
  // The name stays the one the rooms know; the expiry and the rooms are the new token's.
  v.claims->name = user_->name;
  *user_ = std::move(*v.claims);
  for (size_t i = cursors_.size(); i-- > 0;)
    if (!user_->rooms.can_read(cursors_[i].room->name)) leave_room(i, true);
  protocol::append_refreshed(ctrl_, user_->exp ? static_cast<int64_t>(std::floor(*user_->exp)) : 0);
}

bool Connection::token_expired(double now_s) const {
  return user_ && user_->exp && state_ == State::kOpen &&
         now_s >= *user_->exp + shard_.config().jwt_leeway_s;
}

void Connection::close_expired() {
  count_auth(AuthRefuseReason::kSessionExpired);
  close_reason_ = CloseReason::kTokenExpired;
  while (!cursors_.empty()) leave_room(cursors_.size() - 1, false);
  protocol::append_error(ctrl_, "token_expired",
                         "your token expired: connect again with a new one (a refresh before "
                         "it expires keeps the connection)");
  ws_->close(1008, "token expired", ctrl_);
  state_ = State::kClosing;
  close_after_write_ = true;
  uv_timer_start(&timer_, timer_cb, kExpiredCloseMs, 0);
  if (log_enabled(LogLevel::kDebug))
    log_fields(LogLevel::kDebug, {{"event", "token_expired"}, {"conn", id_}, {"name", name_}},
               "conn %lu %s: token expired, closing with 1008", id_, name_.c_str());
  pump();
}

}  // namespace tg::gateway
