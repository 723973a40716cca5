// Fuzz target: the publish API's request parsing (api_request.hpp): a body as a publish,
// and the same bytes as a path and as a history query.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "gateway/api_request.hpp"
#include "protocol/names.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace api = tg::gateway::api;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  api::PublishLimits limits;
  limits.max_text_bytes = 64;
  limits.max_items = 4;
  std::vector<api::PublishItem> items;
  bool array = false;
  auto e = api::parse_publish(in, limits, items, array);
  // Invariants: a refusal is a 400 that says why; what is accepted is valid.
  if (e && (e->status != 400 || e->code.empty() || e->message.empty())) __builtin_trap();
  if (!e) {
    if (items.empty() || items.size() > limits.max_items || (!array && items.size() != 1))
      __builtin_trap();
    for (const api::PublishItem& item : items)
      if (!tg::protocol::valid_room(item.room) || !tg::protocol::valid_name(item.from) ||
          item.text.size() > limits.max_text_bytes || item.cid.size() > 64)
        __builtin_trap();
  }
  api::Target t;
  auto r = api::match_route(in, t);
  if (!r && t.route == tg::metrics::ApiRoute::kOther) __builtin_trap();
  if (t.route == tg::metrics::ApiRoute::kHistory && !r && !tg::protocol::valid_room(t.room))
    __builtin_trap();
  api::HistoryQuery q;
  if (!api::parse_history_query(in, q) && (q.limit < 1 || q.limit > api::kMaxHistoryLimit))
    __builtin_trap();
  return 0;
}
