// cli_flags.hpp -- the one way tidegate's programs (the gateway, tidegate-floor) declare
// a command-line option with CLI11: its default shown in --help, optionally a range.
// Header-only; the program links CLI11.
#pragma once

#include <CLI/CLI.hpp>

namespace tg {

// An option whose default --help shows.
template <typename T>
CLI::Option* flag(CLI::App& app, const char* name, T& value, const char* help) {
  return app.add_option(name, value, help)->capture_default_str();
}

// The same, refusing values outside [lo, hi].
template <typename T, typename B>
CLI::Option* flag(CLI::App& app, const char* name, T& value, B lo, B hi, const char* help) {
  return flag(app, name, value, help)->check(CLI::Range(lo, hi));
}

}  // namespace tg
