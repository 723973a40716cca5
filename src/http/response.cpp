// http_response.cpp -- building HTTP/1.1 responses.
#include "http/response.hpp"

namespace tg::http {

const char* http_status_text(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers, bool with_body) {
  std::string r;
  r.reserve(160 + extra_headers.size() + body.size());
  r += "HTTP/1.1 ";
  r += std::to_string(status);
  r += ' ';
  r += http_status_text(status);
  r += "\r\nServer: tidegate\r\nConnection: close\r\nContent-Type: ";
  r += content_type;
  r += "\r\nContent-Length: ";
  r += std::to_string(body.size());
  r += "\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n";
  r += extra_headers;
  r += "\r\n";
  if (with_body) r += body;
  return r;
}

std::string http_error(int status, std::string_view extra_headers) {
  std::string body = std::to_string(status) + " " + http_status_text(status) + "\n";
  return http_response(status, "text/plain; charset=utf-8", body, extra_headers);
}

}  // namespace tg::http
