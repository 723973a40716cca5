// corpus_test.cpp -- tidegate-bots --corpus: parsing fortune-style files into chat lines,
// cutting, escaping, and every bot's seeded order through them.
#include "bots/corpus.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

namespace tg::bots {
namespace {

TEST(Corpus, EntriesAreSeparatedByPercentLinesAndJoinedIntoOneLine) {
  const Corpus c = Corpus::parse("one\n%\ntwo lines\n\tindented\n%\n\n%\nlast", 1000);
  ASSERT_EQ(c.size(), 3u);  // the empty entry is left out
  EXPECT_EQ(c.text(0), "one");
  EXPECT_EQ(c.text(1), "two lines indented");
  EXPECT_EQ(c.text(2), "last");
}

TEST(Corpus, APercentInsideALineIsText) {
  const Corpus c = Corpus::parse("100% sure\n%%\n%\nnext\r\n%\r\n", 1000);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c.text(0), "100% sure %%");
  EXPECT_EQ(c.text(1), "next");
}

TEST(Corpus, TextsAreCutToMaxBytesOnACharacterBoundary) {
  // "é" is two bytes: a cut at 6 would split it, so the text ends before it.
  const Corpus c = Corpus::parse("abcde\xc3\xa9xyz\n%\nab cd ef\n%\nshort", 6);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c.text(0), "abcde");
  EXPECT_EQ(c.text(1), "ab cd");  // cut at 6 is "ab cd ", the trailing space goes
  EXPECT_EQ(c.text(2), "short");
}

TEST(Corpus, TextsAreJsonEscaped) {
  const Corpus c = Corpus::parse("say \"hi\" \\o/ \x01", 1000);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c.text(0), "say \\\"hi\\\" \\\\o/ \\u0001");
}

TEST(Corpus, EntriesThatAreNotUtf8AreLeftOut) {
  const Corpus c = Corpus::parse("bad \xff byte\n%\ncut \xe6\x97\n%\ngood \xe6\x97\xa5", 1000);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c.text(0), "good \xe6\x97\xa5");
}

std::string entries(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "text " + std::to_string(i) + "\n%\n";
  return s;
}

TEST(Corpus, EveryWalkSendsEveryTextOnceBeforeAnyTwice) {
  for (const int n : {1, 2, 12, 97, 360}) {
    const Corpus c = Corpus::parse(entries(n), 100);
    ASSERT_EQ(c.size(), static_cast<size_t>(n));
    for (uint32_t bot = 0; bot < 20; ++bot) {
      const Corpus::Walk w = c.walk(7, bot);
      std::set<std::string_view> seen;
      for (int k = 0; k < n; ++k) seen.insert(c.text(w, static_cast<uint64_t>(k)));
      EXPECT_EQ(seen.size(), static_cast<size_t>(n)) << "n=" << n << " bot=" << bot;
      EXPECT_EQ(c.text(w, static_cast<uint64_t>(n)), c.text(w, 0));  // then it starts over
    }
  }
}

TEST(Corpus, TheOrderDependsOnTheSeedAndTheBotOnly) {
  const Corpus c = Corpus::parse(entries(360), 100);
  const auto first_ten = [&](uint64_t seed, uint32_t bot) {
    const Corpus::Walk w = c.walk(seed, bot);
    std::string s;
    for (uint64_t k = 0; k < 10; ++k) s += std::string(c.text(w, k)) + "|";
    return s;
  };
  EXPECT_EQ(first_ten(1, 5), first_ten(1, 5));
  EXPECT_NE(first_ten(1, 5), first_ten(1, 6));
  EXPECT_NE(first_ten(1, 5), first_ten(2, 5));
  // Bots do not all start at the same text.
  std::set<std::string_view> starts;
  for (uint32_t bot = 0; bot < 50; ++bot) starts.insert(c.text(c.walk(1, bot), 0));
  EXPECT_GT(starts.size(), 25u);
}

TEST(Corpus, LoadReadsAFileAndRefusesOneWithoutTexts) {
  char path[] = "/tmp/tidegate-corpus-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  { std::ofstream(path) << "A fortune.\n%\nAnother one.\n"; }
  const Corpus c = Corpus::load(path, 64);
  EXPECT_EQ(c.size(), 2u);
  { std::ofstream(path) << "%\n%\n"; }
  EXPECT_THROW(Corpus::load(path, 64), std::runtime_error);
  std::remove(path);
  EXPECT_THROW(Corpus::load(path, 64), std::runtime_error);
}

}  // namespace
}  // namespace tg::bots
