# Dependencies.cmake -- finds every Debian package tidegate builds against, once,
# and exposes each as a namespaced target (tg::<name>) that the subsystems link.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv>=1.44)
add_library(tg::uv ALIAS PkgConfig::LIBUV)

pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)  # sd_notify for Type=notify
add_library(tg::systemd ALIAS PkgConfig::LIBSYSTEMD)

find_package(wslay CONFIG REQUIRED)          # libwslay-dev ships a CMake config
add_library(tg::wslay INTERFACE IMPORTED)
target_link_libraries(tg::wslay INTERFACE wslay)

find_package(zstd CONFIG REQUIRED)           # libzstd-dev
add_library(tg::zstd INTERFACE IMPORTED)
target_link_libraries(tg::zstd INTERFACE zstd::libzstd_shared)

find_package(prometheus-cpp CONFIG REQUIRED) # prometheus-cpp-dev
find_package(CLI11 CONFIG REQUIRED)          # libcli11-dev (header only)
find_package(OpenSSL REQUIRED COMPONENTS Crypto SSL)  # SHA-1 + base64 for the handshake; TLS (src/tls)
find_package(GTest CONFIG REQUIRED)
find_package(ZLIB REQUIRED)                  # zlib1g-dev: permessage-deflate (src/ws/deflate.*)

# libhttp-parser-dev ships neither a CMake config nor a .pc file.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY http_parser REQUIRED)
add_library(tg::http_parser UNKNOWN IMPORTED)
set_target_properties(tg::http_parser PROPERTIES
  IMPORTED_LOCATION "${HTTP_PARSER_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${HTTP_PARSER_INCLUDE_DIR}")

# rapidjson-dev is header only.
find_path(RAPIDJSON_INCLUDE_DIR rapidjson/document.h REQUIRED)
add_library(tg::rapidjson INTERFACE IMPORTED)
set_target_properties(tg::rapidjson PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${RAPIDJSON_INCLUDE_DIR}")

# libhiredis-dev: the Redis client of cluster mode (with its libuv adapter header).
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
add_library(tg::hiredis ALIAS PkgConfig::HIREDIS)
