// upgrade.cpp -- the tidegate side of an upgrade request: sub-protocol and query.
#include "protocol/upgrade.hpp"

#include <cctype>
#include <charconv>
#include <vector>

#include "http/response.hpp"
#include "protocol/names.hpp"
#include "ws/handshake.hpp"

namespace tg::protocol {

namespace {

Handshake fail(int status, std::string_view extra = {}) {
  Handshake h;
  h.status = status;
  h.response = http::http_error(status, extra);
  return h;
}

bool apply_query(const http::HttpRequest& req, Handshake& h) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!http::parse_query(req.query, params)) return false;
  for (auto& [k, v] : params) {
    if (k == "room") {
      if (!valid_room(v)) return false;
      h.room = v;
    } else if (k == "since" || k == "epoch") {
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size()) return false;
      (k == "since" ? h.since : h.epoch) = n;
    } else if (k == "name") {
      h.name = v;
    } else if (k == "token") {
      h.token = v;
    }
  }
  return true;
}

}  // namespace

std::string_view bearer_token(const http::HttpRequest& req) {
  for (const auto& [name, value] : req.headers) {
    if (name != "authorization") continue;
    std::string_view v = http::trim(value);
    if (v.size() < 7 || v[6] != ' ') continue;
    std::string scheme(v.substr(0, 6));
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme == "bearer") return http::trim(v.substr(7));
  }
  return {};
}

std::string_view proto_label(Subprotocol p) {
  switch (p) {
    case Subprotocol::kZstd:
      return "zstd";
    case Subprotocol::kV2Zstd:
      return "v2.zstd";
    case Subprotocol::kJson:
      break;
  }
  return "json";
}

std::optional<Subprotocol> choose_subprotocol(const http::HttpRequest& req) {
  for (const auto& [name, value] : req.headers) {
    if (name != "sec-websocket-protocol") continue;
    std::string_view list = value;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view p = http::trim(list.substr(0, comma));
      if (p == kProtoZstd) return Subprotocol::kZstd;
      if (p == kProtoJson) return Subprotocol::kJson;
      if (p == kProtoV2Zstd) return Subprotocol::kV2Zstd;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return std::nullopt;
}

Handshake evaluate_handshake(const http::HttpRequest& req,
                             const std::vector<std::string>& allowed_origins, bool deflate) {
  ws::UpgradeCheck check = ws::check_upgrade(req);
  if (check.status != 0) return fail(check.status, check.extra_headers);
  // RFC 6455 10.2: a server may refuse an Origin it does not trust; browsers always send
  // one, so this stops other sites' pages from using a visitor's browser to connect.
  if (!ws::origin_allowed(req, allowed_origins)) return fail(403);

  Handshake h;
  if (!apply_query(req, h)) return fail(400);
  if (std::string_view bearer = bearer_token(req); !bearer.empty()) {
    if (!h.token.empty()) return fail(400);
    h.token = bearer;
  }
  auto proto = choose_subprotocol(req);
  h.proto = proto.value_or(Subprotocol::kJson);
  h.status = 101;
  std::string_view named;
  if (proto) {
    named = *proto == Subprotocol::kZstd     ? kProtoZstd
            : *proto == Subprotocol::kV2Zstd ? kProtoV2Zstd
                                             : kProtoJson;
  }
  std::string extensions;
  if (!proto && deflate) {
    h.deflate = ws::choose_deflate(req);
    if (h.deflate) extensions = ws::deflate_answer(*h.deflate);
  }
  h.response = ws::accept_response(check.key, named, extensions);
  return h;
}

}  // namespace tg::protocol
