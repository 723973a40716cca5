// base64url_test.cpp -- strict base64url: round trips, and every non-canonical form refused.
#include "auth/base64url.hpp"

#include <gtest/gtest.h>

namespace tg::auth {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    std::string enc = base64url_encode(bytes);
    EXPECT_EQ(enc.find('='), std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec) << enc;
    EXPECT_EQ(*dec, bytes);
    bytes.push_back(static_cast<char>(0xF0 + i));
  }
}

TEST(Base64Url, KnownValues) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(*base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(*base64url_decode("eyJhIjoxfQ"), "{\"a\":1}");
}

TEST(Base64Url, RefusesPaddingAndOtherAlphabets) {
  EXPECT_FALSE(base64url_decode("eyJhIjoxfQ=="));
  EXPECT_FALSE(base64url_decode("ab+/"));
  EXPECT_FALSE(base64url_decode("ab cd"));
  EXPECT_FALSE(base64url_decode("abc\n"));
}

TEST(Base64Url, RefusesImpossibleLengthAndNonZeroTrailingBits) {
  EXPECT_FALSE(base64url_decode("a"));
  EXPECT_FALSE(base64url_decode("abcde"));
  EXPECT_TRUE(base64url_decode("QQ"));   // "A"
  EXPECT_FALSE(base64url_decode("QR"));  // the same byte with a stray low bit
  EXPECT_TRUE(base64url_decode("QUE"));  // "AA"
  EXPECT_FALSE(base64url_decode("QUF"));
}

}  // namespace
}  // namespace tg::auth
