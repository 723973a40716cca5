// cid.cpp -- formatting and parsing of bot message ids.
#include "bots/cid.hpp"

#include <charconv>

namespace tg::bots {

void Cid::format(std::string_view run, std::string& out) const {
  char buf[48];
  out += run;
  out += '.';
  auto r = std::to_chars(buf, buf + sizeof buf, bot);
  out.append(buf, r.ptr);
  out += '.';
  r = std::to_chars(buf, buf + sizeof buf, sent_us);
  out.append(buf, r.ptr);
}

std::optional<Cid> Cid::parse(std::string_view text, std::string_view run) {
  if (text.size() <= run.size() + 1 || !text.starts_with(run) || text[run.size()] != '.') {
    return std::nullopt;
  }
  text.remove_prefix(run.size() + 1);
  Cid cid;
  const char* end = text.data() + text.size();
  auto r = std::from_chars(text.data(), end, cid.bot);
  if (r.ec != std::errc{} || r.ptr == end || *r.ptr != '.') return std::nullopt;
  r = std::from_chars(r.ptr + 1, end, cid.sent_us);
  if (r.ec != std::errc{} || r.ptr != end) return std::nullopt;
  return cid;
}

}  // namespace tg::bots
