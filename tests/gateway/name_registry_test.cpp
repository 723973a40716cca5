// name_registry_test.cpp -- claims, renames and releases of user names.
#include "gateway/name_registry.hpp"

#include <gtest/gtest.h>

namespace tg::gateway {

TEST(NameRegistry, ClaimsAreUniqueAndRenameMovesTheClaim) {
  NameRegistry r;
  EXPECT_TRUE(r.claim("alice"));
  EXPECT_FALSE(r.claim("alice"));
  EXPECT_TRUE(r.claim("bob"));
  EXPECT_FALSE(r.rename("bob", "alice"));
  EXPECT_TRUE(r.rename("bob", "robert"));
  EXPECT_TRUE(r.claim("bob"));  // released by the rename
  r.release("alice");
  EXPECT_TRUE(r.claim("alice"));
  EXPECT_EQ(r.size(), 3u);
}

}  // namespace tg::gateway
