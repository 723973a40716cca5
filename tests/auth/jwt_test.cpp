// jwt_test.cpp -- the token's structure, the claims' types and the time checks.
#include "auth/jwt.hpp"

#include <gtest/gtest.h>

namespace tg::auth {
namespace {

std::optional<Claims> claims(const std::string& json) {
  std::string why;
  auto c = parse_claims(json, why);
  if (!c) {
    EXPECT_FALSE(why.empty());
  }
  return c;
}

TEST(Jwt, SplitsExactlyThreeParts) {
  auto p = split_token("aa.bb.cc");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header, "aa");
  EXPECT_EQ(p->payload, "bb");
  EXPECT_EQ(p->signature, "cc");
  EXPECT_EQ(p->signing_input, "aa.bb");
  EXPECT_TRUE(split_token("aa.bb."));  // empty signature: refused later, by the signature check
  EXPECT_FALSE(split_token("aa.bb"));
  EXPECT_FALSE(split_token("aa.bb.cc.dd.ee"));
  EXPECT_FALSE(split_token(".bb.cc"));
  EXPECT_FALSE(split_token("aa..cc"));
  EXPECT_FALSE(split_token(""));
}

TEST(Jwt, AlgorithmsByExactName) {
  EXPECT_EQ(alg_from_name("HS256"), Alg::kHS256);
  EXPECT_EQ(alg_from_name("RS256"), Alg::kRS256);
  EXPECT_EQ(alg_from_name("ES256"), Alg::kES256);
  EXPECT_FALSE(alg_from_name("none"));
  EXPECT_FALSE(alg_from_name("hs256"));
  EXPECT_FALSE(alg_from_name("HS512"));
  EXPECT_FALSE(alg_from_name(""));
}

TEST(Jwt, Header) {
  EXPECT_EQ(parse_header(R"({"alg":"HS256","typ":"JWT"})"), "HS256");
  EXPECT_FALSE(parse_header(R"({"typ":"JWT"})"));
  EXPECT_FALSE(parse_header(R"({"alg":256})"));
  EXPECT_FALSE(parse_header(R"(["alg"])"));
  EXPECT_FALSE(parse_header(R"({"alg":"HS256","crit":["exp"]})"));
  EXPECT_FALSE(parse_header("{\"alg\":\"HS256\""));
}

TEST(Jwt, DepthLimit) {
  std::string deep = "{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_FALSE(json_depth_within(deep, kMaxJsonDepth));
  EXPECT_TRUE(json_depth_within(R"({"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})", 2));
  EXPECT_FALSE(
      claims(R"({"sub":"alice","x":)" + std::string(20, '[') + std::string(20, ']') + "}"));
}

TEST(Jwt, GoodClaims) {
  auto c = claims(R"({"sub":"alice","exp":1700000000,"nbf":1600000000.5,"iat":1600000000})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->sub, "alice");
  EXPECT_EQ(c->name, "alice");
  EXPECT_EQ(c->exp, 1700000000.0);
  EXPECT_EQ(c->nbf, 1600000000.5);
  EXPECT_TRUE(c->rooms.all());
  auto named = claims(R"({"sub":"u-1234567890-abcdefghijklmnopqrstuvwxyz","name":"Alice A."})");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->name, "Alice A.");
}

TEST(Jwt, RoomsClaimShapes) {
  auto list = claims(R"({"sub":"a","rooms":["lobby","team.*"]})");
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->rooms.can_read("team.x"));
  EXPECT_TRUE(list->rooms.can_publish("lobby"));
  EXPECT_FALSE(list->rooms.can_read("other"));
  auto split = claims(R"({"sub":"a","rooms":{"read":["news.*"],"publish":["news.chat"]}})");
  ASSERT_TRUE(split);
  EXPECT_TRUE(split->rooms.can_read("news.eu"));
  EXPECT_FALSE(split->rooms.can_publish("news.eu"));
  EXPECT_TRUE(split->rooms.can_publish("news.chat"));
  auto read_only = claims(R"({"sub":"a","rooms":{"read":["x"]}})");
  ASSERT_TRUE(read_only);
  EXPECT_FALSE(read_only->rooms.can_publish("x"));
  auto none = claims(R"({"sub":"a","rooms":[]})");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->rooms.can_read("lobby"));
}

TEST(Jwt, WrongTypesRefused) {
  EXPECT_FALSE(claims(R"({"name":"alice"})"));
  EXPECT_FALSE(claims(R"({"sub":""})"));
  EXPECT_FALSE(claims(R"({"sub":42})"));
  EXPECT_FALSE(claims(R"({"sub":["alice"]})"));
  EXPECT_FALSE(claims(R"({"sub":")" + std::string(300, 'a') + "\"}"));
  EXPECT_FALSE(claims(R"({"sub":"alice","name":7})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","name":"guest-1"})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","name":" padded"})"));
  EXPECT_FALSE(claims(R"({"sub":"guest-7"})"));                        // not showable
  EXPECT_FALSE(claims(R"({"sub":")" + std::string(40, 'u') + "\"}"));  // too long to show
  EXPECT_FALSE(claims(R"({"sub":"alice","exp":"1700000000"})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","nbf":true})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","iat":null})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","rooms":"lobby"})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","rooms":[1]})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","rooms":["bad room"]})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","rooms":["team*"]})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","rooms":{"read":"x"}})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","rooms":{"reed":["x"]}})"));
  EXPECT_FALSE(claims(R"({"sub":"alice","rooms":null})"));
  EXPECT_FALSE(claims(R"(["sub","alice"])"));
  EXPECT_FALSE(claims("not json"));
}

TEST(Jwt, TimesWithLeewayEdges) {
  Claims c;
  c.exp = 1000;
  c.nbf = 900;
  EXPECT_FALSE(check_times(c, 999.999, 0));
  EXPECT_EQ(check_times(c, 1000, 0), TokenError::kExpired);  // exp is the first instant refused
  EXPECT_FALSE(check_times(c, 1029.9, 30));
  EXPECT_EQ(check_times(c, 1030, 30), TokenError::kExpired);
  EXPECT_FALSE(check_times(c, 900, 0));
  EXPECT_EQ(check_times(c, 899.9, 0), TokenError::kNotYetValid);
  EXPECT_FALSE(check_times(c, 870, 30));
  EXPECT_EQ(check_times(c, 869.9, 30), TokenError::kNotYetValid);
  Claims forever;
  EXPECT_FALSE(check_times(forever, 1e12, 0));
}

TEST(Jwt, ErrorLabels) {
  EXPECT_STREQ(token_error_label(TokenError::kBadAlg), "bad_alg");
  EXPECT_STREQ(token_error_label(TokenError::kNotYetValid), "not_yet_valid");
}

}  // namespace
}  // namespace tg::auth
