// The command line of the real binary: what --version reports.
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <uv.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
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
  std::string cmd = bin;
  cmd += ' ';
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
