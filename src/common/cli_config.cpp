// cli_config.cpp -- environment variables and config-file line numbers for CLI11 programs.
#include "common/cli_config.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace tg {

std::string env_name(const std::string& prefix, const std::string& long_name) {
  std::string out = prefix;
  out += '_';
  for (char c : long_name) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

namespace {

// Whether `args` names `name` ("--name" or "--name=value").
bool names(const std::vector<std::string>& args, const std::string& name) {
  const std::string flag = "--" + name;
  for (const std::string& a : args) {
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  }
  return false;
}

const char* system_getenv(const char* name) {
  return std::getenv(name);
}

}  // namespace

std::vector<std::string> env_arguments(const CLI::App& app, const std::vector<std::string>& args,
                                       const std::string& prefix,
                                       const char* (*getenv)(const char*)) {
  if (getenv == nullptr) getenv = system_getenv;
  std::vector<std::string> out;
  for (const CLI::Option* opt : app.get_options()) {
    const std::vector<std::string>& lnames = opt->get_lnames();
    if (lnames.empty() || !opt->get_configurable()) continue;  // --help, --config, ...
    bool given = false;
    for (const std::string& n : lnames) given = given || names(args, n);
    for (const std::string& n : opt->get_fnames()) given = given || names(args, n);
    if (given) continue;
    const char* value = getenv(env_name(prefix, lnames.front()).c_str());
    if (value == nullptr || *value == '\0') continue;
    std::string arg = "--";
    arg += lnames.front();
    arg += '=';
    arg += value;
    out.push_back(std::move(arg));
  }
  return out;
}

std::string print_config(const CLI::App& app) {
  std::istringstream in(app.config_to_str(true, true));
  std::string out, line;
  static const std::regex unset(R"(^([A-Za-z0-9][A-Za-z0-9_-]*)=""$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, unset)) {
      const CLI::Option* opt = app.get_option_no_throw("--" + m[1].str());
      if (opt != nullptr && opt->count() == 0 && opt->get_default_str().empty()) {
        out += "# ";
        out += m[1].str();
        out += "=  (not set)\n";
        continue;
      }
    }
    out += line;
    out += '\n';
  }
  return out;
}

std::string locate_in_config(const std::string& file, const std::string& message,
                             const CLI::App& app, const std::vector<std::string>& args) {
  if (file.empty()) return message;
  // The key the message is about: CLI11 says "INI was not able to parse KEY" for an
  // unknown key, and starts a bad value's message with the option's name ("--KEY: ...").
  std::smatch m;
  std::string key;
  static const std::regex unknown(R"(not able to parse (\S+))");
  static const std::regex option(R"(--([A-Za-z0-9][A-Za-z0-9_-]*))");
  if (std::regex_search(message, m, unknown)) {
    key = m[1];
  } else if (std::regex_search(message, m, option)) {
    key = m[1];
    const CLI::Option* opt = app.get_option_no_throw("--" + key);
    if (opt != nullptr && !opt->get_lnames().empty()) key = opt->get_lnames().front();
  }
  if (key.empty() || names(args, key)) return message;
  std::ifstream in(file);
  std::string line;
  static const std::regex assignment(R"(^\s*([A-Za-z0-9_.-]+)\s*=)");
  for (int n = 1; std::getline(in, line); ++n) {
    if (std::regex_search(line, m, assignment) && m[1] == key) {
      return file + ":" + std::to_string(n) + ": " + message;
    }
  }
  return message;  // not the file's doing: the command line or the environment
}

}  // namespace tg
