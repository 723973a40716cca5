// Tests for cli_config: environment variables as arguments, config-file line numbers in
// errors, and the printed configuration.
#include "common/cli_config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

namespace tg {
namespace {

std::map<std::string, std::string> g_env;

const char* fake_getenv(const char* name) {
  auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}

struct Flags {
  int workers = 0;
  double target = 0.7;
  bool pin = false;
  std::string level = "info";
};

void declare(CLI::App& app, Flags& f) {
  app.add_option("--workers", f.workers)->capture_default_str()->check(CLI::Range(0, 256));
  app.add_option("--target-cpu", f.target)->capture_default_str();
  app.add_flag("--pin,!--no-pin", f.pin)->capture_default_str();
  app.add_option("--log-level", f.level)->capture_default_str();
  app.set_config("--config");
  app.allow_config_extras(CLI::config_extras_mode::error);
}

std::string write_file(const std::string& text) {
  char path[] = "/tmp/tg-cli-config-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(CliConfig, EnvNameIsThePrefixAndTheFlagInCapitals) {
  EXPECT_EQ(env_name("TIDEGATE", "max-rooms"), "TIDEGATE_MAX_ROOMS");
  EXPECT_EQ(env_name("TIDEGATE", "workers"), "TIDEGATE_WORKERS");
}

TEST(CliConfig, EnvironmentFillsOnlyWhatTheCommandLineDoesNotName) {
  CLI::App app;
  Flags f;
  declare(app, f);
  g_env = {{"TG_WORKERS", "3"},
           {"TG_TARGET_CPU", "0.5"},
           {"TG_PIN", "true"},
           {"TG_LOG_LEVEL", ""},  // empty: as if unset
           {"TG_CONFIG", "/nowhere.toml"}};
  auto args = env_arguments(app, {"--workers=4", "--no-pin"}, "TG", fake_getenv);
  // --workers and --pin (through --no-pin) are on the command line; --config is not
  // configurable; --log-level's variable is empty.
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0], "--target-cpu=0.5");
}

TEST(CliConfig, PrecedenceIsCommandLineThenEnvironmentThenFile) {
  std::string file = write_file("workers = 9\ntarget-cpu = 0.9\nlog-level = \"debug\"\n");
  g_env = {{"TG_WORKERS", "3"}, {"TG_TARGET_CPU", "0.5"}};
  std::vector<std::string> cmdline = {"--config", file, "--workers", "4"};
  CLI::App app;
  Flags f;
  declare(app, f);
  std::vector<std::string> all = env_arguments(app, cmdline, "TG", fake_getenv);
  all.insert(all.end(), cmdline.begin(), cmdline.end());
  std::vector<const char*> argv{"prog"};
  for (const auto& a : all) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(f.workers, 4);          // command line
  EXPECT_DOUBLE_EQ(f.target, 0.5);  // environment over file
  EXPECT_EQ(f.level, "debug");      // file over default
  EXPECT_FALSE(f.pin);              // default
  std::remove(file.c_str());
}

TEST(CliConfig, ErrorsAboutTheFileNameItsLine) {
  std::string file = write_file("# settings\nworkers = 2\n\ntarget-cpu = 0.5\nwrkers = 3\n");
  CLI::App app;
  Flags f;
  declare(app, f);
  std::string unknown = locate_in_config(file, "INI was not able to parse wrkers", app, {});
  EXPECT_EQ(unknown, file + ":5: INI was not able to parse wrkers");
  std::string bad = locate_in_config(file, "--workers: Value 300 not in range 0 to 256", app, {});
  EXPECT_EQ(bad, file + ":2: --workers: Value 300 not in range 0 to 256");
  // The same bad value from the command line is not the file's.
  std::string cmd =
      locate_in_config(file, "--workers: Value 300 not in range 0 to 256", app, {"--workers=300"});
  EXPECT_EQ(cmd, "--workers: Value 300 not in range 0 to 256");
  std::remove(file.c_str());
}

TEST(CliConfig, PrintedConfigReadsBackToTheSameAndLeavesUnsetOptionsOut) {
  std::optional<double> window;
  CLI::App app;
  Flags f;
  declare(app, f);
  app.add_option("--window-ms", window);
  std::vector<const char*> argv{"prog", "--workers", "5", "--pin"};
  app.parse(static_cast<int>(argv.size()), argv.data());
  std::string printed = print_config(app);
  EXPECT_NE(printed.find("workers=5"), std::string::npos) << printed;
  EXPECT_NE(printed.find("# window-ms=  (not set)"), std::string::npos) << printed;

  std::string file = write_file(printed);
  CLI::App again;
  Flags g;
  declare(again, g);
  std::optional<double> window2;
  again.add_option("--window-ms", window2);
  std::vector<const char*> argv2{"prog", "--config", file.c_str()};
  again.parse(static_cast<int>(argv2.size()), argv2.data());
  EXPECT_EQ(g.workers, 5);
  EXPECT_TRUE(g.pin);
  EXPECT_FALSE(window2.has_value());
  EXPECT_EQ(print_config(again), printed);
  std::remove(file.c_str());
}

}  // namespace tg
