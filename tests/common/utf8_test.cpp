// utf8_test.cpp -- UTF-8 validation (src/common/utf8.cpp).
#include "common/utf8.hpp"

#include <gtest/gtest.h>

namespace tg {

TEST(Utf8, AcceptsWellFormedAndRefusesMalformedText) {
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));                             // overlong '/'
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));                         // surrogate U+D800
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));                     // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xE2\x82"));                             // truncated
  EXPECT_FALSE(valid_utf8("\x80"));                                 // lone continuation byte
}

}  // namespace tg
