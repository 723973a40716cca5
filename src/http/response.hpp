// http_response.hpp -- the few HTTP/1.1 responses the gateway writes itself.
#pragma once

#include <string>
#include <string_view>

namespace tg::http {

const char* http_status_text(int status);

// A complete response with `Connection: close` and Content-Length. `extra_headers`
// are whole "Name: value\r\n" lines. For HEAD requests pass `with_body` false.
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers = {}, bool with_body = true);

// The same with `Connection: keep-alive` (the publish API's persistent connections).
std::string http_keep_alive_response(int status, std::string_view content_type,
                                     std::string_view body, std::string_view extra_headers = {});

// A plain-text error response whose body is the status line's reason.
std::string http_error(int status, std::string_view extra_headers = {});

}  // namespace tg::http
