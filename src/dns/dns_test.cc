#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>

#include "dns/dns.h"

namespace sealmail {
namespace {

// Answers from a map, counting lookups.
class MapResolver final : public Resolver {
 public:
  std::map<std::string, Result<std::vector<MxRecord>>> mx;
  std::map<std::string, Result<std::vector<HostAddress>>> addr;
  int lookups = 0;
  Result<std::vector<MxRecord>> LookupMx(const std::string& d) override {
    ++lookups;
    auto it = mx.find(d);
    if (it == mx.end()) return Status::NotFound(d);
    return it->second;
  }
  Result<std::vector<HostAddress>> LookupAddresses(const std::string& h) override {
    ++lookups;
    auto it = addr.find(h);
    if (it == addr.end()) return Status::NotFound(h);
    return it->second;
  }
};

std::vector<std::string> Names(const std::vector<MailHost>& hs) {
  std::vector<std::string> out;
  for (const auto& h : hs) out.push_back(h.name + "/" + h.address.ip);
  return out;
}

TEST(ResolveMailHosts, PreferenceOrderFallbackAndNullMx) {
  MapResolver r;
  r.mx.insert_or_assign("a.example",
                        std::vector<MxRecord>{{20, "mx2.a.example"}, {10, "mx1.a.example"}});
  r.addr.insert_or_assign("mx1.a.example",
                          std::vector<HostAddress>{{"192.0.2.1", 25}, {"2001:db8::1", 25}});
  r.addr.insert_or_assign("mx2.a.example", std::vector<HostAddress>{{"192.0.2.2", 25}});
  r.mx.insert_or_assign("implicit.example", std::vector<MxRecord>{});
  r.addr.insert_or_assign("implicit.example", std::vector<HostAddress>{{"192.0.2.3", 25}});
  r.mx.insert_or_assign("null.example", std::vector<MxRecord>{{0, ""}});
  r.mx.insert_or_assign("down.example", Status::Transient("timeout"));
  r.mx.insert_or_assign("noaddr.example", std::vector<MxRecord>{});
  r.addr.insert_or_assign("noaddr.example", std::vector<HostAddress>{});
  r.mx.insert_or_assign("dangling.example", std::vector<MxRecord>{{10, "gone.example"}});

  auto got = ResolveMailHosts(r, "a.example");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Names(*got),
            (std::vector<std::string>{"mx1.a.example/192.0.2.1", "mx1.a.example/2001:db8::1",
                                      "mx2.a.example/192.0.2.2"}));
  got = ResolveMailHosts(r, "implicit.example");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Names(*got), (std::vector<std::string>{"implicit.example/192.0.2.3"}));

  struct Case {
    std::string domain;
    Status::Code want;
    std::string says;
  };
  for (const Case& c : {Case{"null.example", Status::Code::kPermanent, "null MX"},
                        Case{"nx.example", Status::Code::kPermanent, "NXDOMAIN"},
                        Case{"down.example", Status::Code::kTransient, "timeout"},
                        Case{"noaddr.example", Status::Code::kPermanent, "no MX and no A"},
                        Case{"dangling.example", Status::Code::kTransient, "no address"}}) {
    auto g = ResolveMailHosts(r, c.domain);
    ASSERT_FALSE(g.ok()) << c.domain;
    EXPECT_EQ(g.status().code(), c.want) << c.domain << ": " << g.status().message();
    EXPECT_NE(g.status().message().find(c.says), std::string::npos) << g.status().message();
    EXPECT_NE(g.status().message().find(c.domain), std::string::npos) << g.status().message();
  }
}

TEST(ResolveMailHosts, EqualPreferencesAreShuffled) {
  MapResolver r;
  r.mx.insert_or_assign("a.example", std::vector<MxRecord>{{10, "x"}, {10, "y"}, {5, "z"}});
  for (const char* h : {"x", "y", "z"})
    r.addr.insert_or_assign(h, std::vector<HostAddress>{{"192.0.2.9", 25}});
  std::set<std::string> seconds;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto g = ResolveMailHosts(r, "a.example", seed);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ((*g)[0].name, "z");
    seconds.insert((*g)[1].name);
  }
  EXPECT_EQ(seconds.size(), 2u);
}

TEST(MailRouteCache, CachesAnswersAndFailuresForAWhile) {
  MapResolver r;
  r.mx.insert_or_assign("down.example", Status::Transient("timeout"));
  FakeClock clock(1700000000);
  MailRouteCache cache(&r, &clock, 300, 30);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(cache.Get("down.example").ok());
  EXPECT_EQ(r.lookups, 1);
  clock.AdvanceSeconds(31);
  EXPECT_FALSE(cache.Get("down.example").ok());
  EXPECT_EQ(r.lookups, 2);
}

std::string WriteTable(const std::string& text) {
  std::string path = ::testing::TempDir() + "/table_" + std::to_string(text.size());
  FILE* f = fopen(path.c_str(), "w");
  fputs(text.c_str(), f);
  fclose(f);
  return path;
}

TEST(TableResolver, ReadsRecordsAndRefusesAnythingButLoopback) {
  auto t =
      TableResolver::Load(WriteTable("# test\n"
                                     "A.Example mx 10 MX.a.example.\n"
                                     "mx.a.example a 127.0.0.1:2525\n"
                                     "mx.a.example a [::1]:2526\n"
                                     "null.example mx 0 .\n"
                                     "bad.example servfail\n"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto mx = (*t)->LookupMx("a.example");
  ASSERT_TRUE(mx.ok());
  ASSERT_EQ(mx->size(), 1u);
  EXPECT_EQ((*mx)[0].host, "mx.a.example");
  auto a = (*t)->LookupAddresses("mx.a.example");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].ip, "127.0.0.1");
  EXPECT_EQ((*a)[0].port, 2525);
  EXPECT_EQ((*a)[1].ip, "::1");
  EXPECT_EQ((*a)[1].port, 2526);
  EXPECT_EQ((*t)->LookupMx("nope.example").status().code(), Status::Code::kNotFound);
  EXPECT_EQ((*t)->LookupMx("bad.example").status().code(), Status::Code::kTransient);
  auto null = ResolveMailHosts(**t, "null.example");
  EXPECT_EQ(null.status().code(), Status::Code::kPermanent);

  for (const char* bad :
       {"x.example a 192.0.2.1:25\n", "x.example a [2001:db8::1]:25\n",
        "x.example a 127.0.0.1:99999\n", "x.example mx ten y\n", "x.example cname y\n"}) {
    auto b = TableResolver::Load(WriteTable(std::string("\n") + bad));
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find(":2: "), std::string::npos) << b.status().message();
  }
}

}  // namespace
}  // namespace sealmail
