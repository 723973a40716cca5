// cli_config.hpp -- where a program's settings come from besides its command line: a
// TOML file (CLI11's own config support, --config) and environment variables
// PREFIX_<FLAG>. Precedence: command line > environment > file > default.
//
// CLI11 reads the file first and an option's environment variable only when nothing set
// it, so the file would win over the environment. Instead, env_arguments() turns the
// variables into arguments placed before the real ones (for options the command line
// does not name): CLI11 then sees them as given, and the file fills only what is left.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace tg {

// The environment variable of an option: "--max-rooms" -> PREFIX_MAX_ROOMS.
std::string env_name(const std::string& prefix, const std::string& long_name);

// Arguments ("--name=value") from the environment variables of every option of `app`
// that `args` (the command line, without the program name) does not name, in option
// order. `getenv` is injectable for tests.
std::vector<std::string> env_arguments(const CLI::App& app, const std::vector<std::string>& args,
                                       const std::string& prefix,
                                       const char* (*getenv)(const char*) = nullptr);

// The effective configuration in the --config file format (CLI11's), every option with
// its description. An option that has no value at all (set nowhere, no default) is
// written commented out, so that the output read back as a file sets nothing new.
std::string print_config(const CLI::App& app);

// A parse error made readable for an operator: when `message` names a key that `file`
// sets (an unknown key, or a bad value of an option that `args`, the command line and
// environment arguments, do not name), "FILE:LINE: message"; otherwise the message as
// it is.
std::string locate_in_config(const std::string& file, const std::string& message,
                             const CLI::App& app, const std::vector<std::string>& args);

}  // namespace tg
