// assets.cpp -- looking up the embedded chat page files by URL path.
#include "gateway/assets.hpp"

namespace tg::gateway {

const Asset* find_asset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const Asset* a = all_assets(); a->path; ++a)
    if (path == a->path) return a;
  return nullptr;
}

}  // namespace tg::gateway
