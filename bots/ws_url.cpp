// ws_url.cpp -- parsing of ws://IPv4:port/path and wss://IPv4:port/path URLs.
#include "bots/ws_url.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace tg::bots {

bool WsUrl::loopback() const {
  return (ntohl(address.sin_addr.s_addr) >> 24) == 127;
}

std::string WsUrl::authority() const {
  return host + ":" + std::to_string(port);
}

std::optional<WsUrl> parse_ws_url(std::string_view url) {
  constexpr std::string_view kScheme = "ws://";
  constexpr std::string_view kTlsScheme = "wss://";
  WsUrl out;
  if (url.starts_with(kTlsScheme)) {
    url.remove_prefix(kTlsScheme.size());
    out.tls = true;
    out.port = 443;
  } else if (url.starts_with(kScheme)) {
    url.remove_prefix(kScheme.size());
  } else {
    return std::nullopt;
  }
  const auto slash = url.find('/');
  std::string_view hostport = url.substr(0, slash);
  out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (const auto q = out.path.find('?'); q != std::string::npos) out.path.resize(q);
  const auto colon = hostport.rfind(':');
  out.host = std::string(hostport.substr(0, colon));
  if (colon != std::string_view::npos) {
    const std::string_view port = hostport.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(value);
  }
  out.address.sin_family = AF_INET;
  out.address.sin_port = htons(out.port);
  if (inet_pton(AF_INET, out.host.c_str(), &out.address.sin_addr) != 1) return std::nullopt;
  return out;
}

}  // namespace tg::bots
