// Tests for Admission: the overall and per-address connection limits and the bounded
// number of refusals answered at once.
#include "gateway/admission.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

namespace tg::gateway {
namespace {

using Verdict = Admission::Verdict;

AddrKey key_of(const std::string& ip) {
  sockaddr_storage ss{};
  if (ip.find(':') == std::string::npos) {
    auto& a = reinterpret_cast<sockaddr_in&>(ss);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  } else {
    auto& a = reinterpret_cast<sockaddr_in6&>(ss);
    a.sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip.c_str(), &a.sin6_addr);
  }
  return addr_key(ss);
}

TEST(Admission, OverallLimitRefusesWith503UntilAPlaceIsGivenBack) {
  Admission adm(2, 0, 8);
  AddrKey a = key_of("10.0.0.1"), b = key_of("10.0.0.2");
  auto t1 = adm.admit(a), t2 = adm.admit(b);
  EXPECT_EQ(t1.verdict, Verdict::kAdmit);
  EXPECT_EQ(t2.verdict, Verdict::kAdmit);
  auto t3 = adm.admit(key_of("10.0.0.3"));
  EXPECT_EQ(t3.verdict, Verdict::kServerFull);
  EXPECT_TRUE(t3.answer);
  EXPECT_EQ(adm.open(), 2u);
  adm.release(key_of("10.0.0.3"), t3);  // a refusal gives back no place
  EXPECT_EQ(adm.admit(key_of("10.0.0.4")).verdict, Verdict::kServerFull);
  adm.release(a, t1);
  EXPECT_EQ(adm.open(), 1u);
  EXPECT_EQ(adm.admit(key_of("10.0.0.5")).verdict, Verdict::kAdmit);
}

TEST(Admission, PerAddressLimitCountsEachAddressAlone) {
  Admission adm(0, 2, 8);
  AddrKey a = key_of("192.0.2.7"), b = key_of("192.0.2.8");
  auto a1 = adm.admit(a), a2 = adm.admit(a);
  EXPECT_EQ(a2.verdict, Verdict::kAdmit);
  auto a3 = adm.admit(a);
  EXPECT_EQ(a3.verdict, Verdict::kAddressFull);
  EXPECT_EQ(adm.admit(b).verdict, Verdict::kAdmit);
  adm.release(a, a1);
  EXPECT_EQ(adm.admit(a).verdict, Verdict::kAdmit);
  (void)a2;
  (void)a3;
}

TEST(Admission, LimitsSetWhileRunningCountTheConnectionsAlreadyOpen) {
  Admission a(0, 0, 8);  // no limits at first
  std::vector<Admission::Ticket> open;
  for (int i = 0; i < 3; ++i) open.push_back(a.admit(key_of("10.0.0.1")));
  open.push_back(a.admit(key_of("10.0.0.2")));
  a.set_limits(5, 3);  // a reload
  EXPECT_EQ(a.max_total(), 5u);
  EXPECT_EQ(a.max_per_addr(), 3u);
  // 10.0.0.1 already has 3 open: the per-address limit holds for it at once.
  EXPECT_EQ(a.admit(key_of("10.0.0.1")).verdict, Verdict::kAddressFull);
  EXPECT_EQ(a.admit(key_of("10.0.0.3")).verdict, Verdict::kAdmit);  // the 5th
  EXPECT_EQ(a.admit(key_of("10.0.0.4")).verdict, Verdict::kServerFull);
  a.release(key_of("10.0.0.1"), open[0]);
  EXPECT_EQ(a.admit(key_of("10.0.0.1")).verdict, Verdict::kAdmit);
}

TEST(Admission, OverallLimitComesBeforeThePerAddressOne) {
  Admission adm(1, 1, 8);
  AddrKey a = key_of("192.0.2.7");
  adm.admit(a);
  EXPECT_EQ(adm.admit(a).verdict, Verdict::kServerFull);
}

TEST(Admission, RefusalsBeyondTheSlotsAreDroppedUnanswered) {
  Admission adm(1, 0, 2);
  adm.admit(key_of("10.0.0.1"));
  std::vector<Admission::Ticket> refused;
  for (int i = 0; i < 3; ++i) refused.push_back(adm.admit(key_of("10.0.0.9")));
  EXPECT_TRUE(refused[0].answer);
  EXPECT_TRUE(refused[1].answer);
  EXPECT_FALSE(refused[2].answer);  // both slots in use
  EXPECT_EQ(refused[2].verdict, Verdict::kServerFull);
  adm.release(key_of("10.0.0.9"), refused[2]);  // held no slot: frees none
  EXPECT_FALSE(adm.admit(key_of("10.0.0.9")).answer);
  adm.release(key_of("10.0.0.9"), refused[0]);
  EXPECT_TRUE(adm.admit(key_of("10.0.0.9")).answer);
}

TEST(Admission, Ipv6AddressesCountBySlash64AndIpv4MappedWhole) {
  Admission adm(0, 1, 8);
  EXPECT_EQ(adm.admit(key_of("2001:db8:1:2::1")).verdict, Verdict::kAdmit);
  EXPECT_EQ(adm.admit(key_of("2001:db8:1:2:ffff::9")).verdict, Verdict::kAddressFull);
  EXPECT_EQ(adm.admit(key_of("2001:db8:1:3::1")).verdict, Verdict::kAdmit);
  // The same IPv4 client, seen on an IPv4 socket and as v4-mapped on a dual-stack one.
  EXPECT_EQ(key_of("198.51.100.4"), key_of("::ffff:198.51.100.4"));
  EXPECT_NE(key_of("198.51.100.4"), key_of("198.51.100.5"));
  EXPECT_EQ(adm.admit(key_of("198.51.100.4")).verdict, Verdict::kAdmit);
  EXPECT_EQ(adm.admit(key_of("::ffff:198.51.100.4")).verdict, Verdict::kAddressFull);
  EXPECT_EQ(adm.admit(key_of("::ffff:198.51.100.5")).verdict, Verdict::kAdmit);
}

}  // namespace
}  // namespace tg::gateway
