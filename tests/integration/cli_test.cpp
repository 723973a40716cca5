// The command line of the real binary: what --version reports.
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <unistd.h>
#include <uv.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

namespace {

// Runs the gateway binary with `args`; returns its exit status and stdout.
int run_binary(const std::string& args, std::string& out) {
  const char* bin = std::getenv("TIDEGATE_BIN");
  if (bin == nullptr) {
    ADD_FAILURE() << "TIDEGATE_BIN is not set";
    return -1;
  }
  // "env VAR=... $TIDEGATE_BIN ..." runs as written (the shell expands the variable).
  std::string cmd;
  if (args.rfind("env ", 0) != 0) {
    cmd = bin;
    cmd += ' ';
  }
  cmd += args;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(Cli, VersionNamesTheBuildAndTheLibrariesItRunsWith) {
  std::string out;
  ASSERT_EQ(run_binary("--version", out), 0);
  // The first line: version, a 12-digit commit (or unknown outside git), build type.
  std::regex first(R"(^tidegate \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown), \S+\)\n)");
  EXPECT_TRUE(std::regex_search(out, first)) << out;
  // The libraries, as the loaded shared objects report themselves.
  std::string uv = "libuv ";
  uv += uv_version_string();
  EXPECT_NE(out.find(uv), std::string::npos) << out;
  std::string zstd = "zstd ";
  zstd += ZSTD_versionString();
  EXPECT_NE(out.find(zstd), std::string::npos) << out;
  EXPECT_NE(out.find(OpenSSL_version(OPENSSL_VERSION)), std::string::npos) << out;
  EXPECT_NE(out.find("wslay "), std::string::npos) << out;
}

TEST(Cli, AnUnknownFlagFailsWithoutStarting) {
  std::string out;
  EXPECT_NE(run_binary("--no-such-flag 2>&1", out), 0);
  EXPECT_NE(out.find("no-such-flag"), std::string::npos) << out;
}

namespace {

std::string temp_file(const std::string& text) {
  char path[] = "/tmp/tg-cli-test-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}

// The value `key` has in --print-config's output.
std::string printed(const std::string& out, const std::string& key) {
  std::smatch m;
  std::regex line("(^|\\n)" + key + "=([^\\n]*)");
  return std::regex_search(out, m, line) ? m[2].str() : "(missing)";
}

}  // namespace

TEST(Cli, CommandLineBeatsEnvironmentBeatsFileBeatsDefault) {
  std::string file = temp_file("workers = 3\nrate-limit = 7\nmax-rooms-per-client = 9\n");
  std::string out;
  ASSERT_EQ(run_binary("env TIDEGATE_WORKERS=2 TIDEGATE_RATE_LIMIT=5 TIDEGATE_ZSTD_LEVEL=3 "
                       "$TIDEGATE_BIN --config " +
                           file + " --workers 1 --print-config",
                       out),
            0)
      << out;
  EXPECT_EQ(printed(out, "workers"), "1");               // command line
  EXPECT_EQ(printed(out, "rate-limit"), "5");            // environment over file
  EXPECT_EQ(printed(out, "zstd-level"), "3");            // environment over default
  EXPECT_EQ(printed(out, "max-rooms-per-client"), "9");  // file over default
  EXPECT_EQ(printed(out, "idle-timeout-s"), "60");       // default
  std::remove(file.c_str());
}

TEST(Cli, PrintedConfigFedBackGivesTheSameConfig) {
  std::string first;
  ASSERT_EQ(run_binary("--workers 2 --rate-limit 3.5 --slow-policy close --print-config", first),
            0);
  std::string file = temp_file(first);
  std::string second;
  ASSERT_EQ(run_binary("--config " + file + " --print-config", second), 0) << second;
  EXPECT_EQ(first, second);
  EXPECT_EQ(printed(second, "slow-policy"), "\"close\"");
  std::remove(file.c_str());
}

TEST(Cli, ABadFileFailsStartupWithItsNameLineAndReason) {
  std::string file = temp_file("# tidegate\nworkers = 2\nwrokers = 3\n");
  std::string out;
  EXPECT_EQ(run_binary("--config " + file + " 2>&1", out), 2);
  EXPECT_NE(out.find(file + ":3: "), std::string::npos) << out;
  EXPECT_NE(out.find("wrokers"), std::string::npos) << out;
  std::remove(file.c_str());

  file = temp_file("\nslow-policy = \"sometimes\"\n");
  out.clear();
  EXPECT_EQ(run_binary("--config " + file + " 2>&1", out), 2);
  EXPECT_NE(out.find(file + ":2: --slow-policy"), std::string::npos) << out;
  std::remove(file.c_str());

  out.clear();
  EXPECT_NE(run_binary("--config /nonexistent/tidegate.toml 2>&1", out), 0);
  EXPECT_NE(out.find("/nonexistent/tidegate.toml"), std::string::npos) << out;
}

TEST(Cli, TheShippedExampleConfigParsesAndNamesEveryFlag) {
  // This file is tests/integration/cli_test.cpp of the source tree.
  std::string example = __FILE__;
  example = example.substr(0, example.rfind("/tests/integration/")) + "/packaging/tidegate.toml";
  std::string out;
  ASSERT_EQ(run_binary("--config " + example + " --print-config 2>&1", out), 0) << out;
  std::string defaults;
  ASSERT_EQ(run_binary("--print-config", defaults), 0);
  std::ifstream in(example);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Every key --print-config writes is in the example, set or commented out.
  std::regex key(R"((^|\n)(# )?([a-z0-9-]+)=)");
  int keys = 0;
  for (std::sregex_iterator it(defaults.begin(), defaults.end(), key), end; it != end; ++it) {
    std::string k = (*it)[3].str();
    ++keys;
    EXPECT_TRUE(text.find("\n" + k + "=") != std::string::npos ||
                text.find("\n# " + k + "=") != std::string::npos)
        << k << " is missing from packaging/tidegate.toml (regenerate it with --print-config)";
  }
  EXPECT_GT(keys, 20);
}
