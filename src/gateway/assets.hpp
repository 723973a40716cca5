// assets.hpp -- the chat page's files, compiled into the binary from web/public (and the
// zstd decoder from web/node_modules) by cmake/EmbedAssets.cmake.
#pragma once

#include <cstddef>
#include <string_view>

namespace tg::gateway {

struct Asset {
  const char* path;  // URL path, e.g. "/index.html"
  const char* content_type;
  const char* data;
  size_t size;
};

// Every embedded asset, ending with an entry whose path is nullptr.
const Asset* all_assets();

// The asset served at `path` ("/" means "/index.html"), or nullptr.
const Asset* find_asset(std::string_view path);

}  // namespace tg::gateway
