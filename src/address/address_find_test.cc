// FindAddressTokens against the plain reference loop it replaced (byte
// classes from a table, bounds hoisted out of the scans): the same tokens,
// in the same order, for random and hand-picked inputs.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "address/address_find.h"

namespace sealmail {
namespace {

bool RefAtextOrDot(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~.").find(static_cast<char>(c)) !=
             std::string_view::npos ||
         c >= 0x80;
}

bool RefDomainChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c >= 0x80;
}

struct Tok {
  std::string local, domain;
  size_t offset;
  bool operator==(const Tok&) const = default;
};

std::vector<Tok> Reference(std::string_view text) {
  std::vector<Tok> out;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t prev_at_end = 0;
  for (size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
    size_t l = at;
    while (l > prev_at_end && at - l < 64 && RefAtextOrDot(p[l - 1])) --l;
    size_t r = at + 1;
    while (r < n && r - at - 1 < 255 && RefDomainChar(p[r])) ++r;
    prev_at_end = at + 1;
    size_t ls = l;
    while (ls < at && p[ls] == '.') ++ls;
    size_t re = r;
    while (re > at + 1 && (p[re - 1] == '.' || p[re - 1] == '-')) --re;
    if (ls == at || re == at + 1) continue;
    out.push_back({std::string(text.substr(ls, at - ls)),
                   std::string(text.substr(at + 1, re - at - 1)), at});
  }
  return out;
}

std::vector<Tok> Got(std::string_view text) {
  std::vector<Tok> out;
  FindAddressTokens(text, [&](const AddressToken& t) {
    out.push_back({std::string(t.local), std::string(t.domain), t.offset});
  });
  return out;
}

TEST(AddressFindTest, MatchesTheReferenceScan) {
  const std::string long_local(100, 'a'), long_domain(300, 'b');
  for (std::string text : {std::string("jo@example.net"), std::string("a@b@c@d"),
                           std::string("..x@y.com.. -z@w-"), std::string("@@@x@@y@"),
                           long_local + "@" + long_domain, std::string("Ömer@bücher.example"),
                           std::string("mailto:al%40x.example?to=b@c.example"),
                           std::string("\x80\xff@\xfe\x81"), std::string(70, '.') + "@x"}) {
    EXPECT_EQ(Got(text), Reference(text)) << text;
  }
  std::mt19937 rng(5);
  const std::string alphabet = "ab.-@!%&=_ \n\x80\xc3" "Z9";
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 400, ' ');
    for (char& c : text) {
      c = (rng() % 8 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    ASSERT_EQ(Got(text), Reference(text)) << i;
  }
  // Every byte value on both sides of the '@'.
  for (int c = 0; c < 256; ++c) {
    std::string text = std::string("x") + static_cast<char>(c) + "@" + static_cast<char>(c) + "y";
    EXPECT_EQ(Got(text), Reference(text)) << c;
  }
}

std::vector<Tok> GotSkipping(std::string_view text, std::string_view skip) {
  std::vector<Tok> out;
  AddressTokenCursor cursor(text);
  AddressToken t;
  while (cursor.Next(&t, skip)) out.push_back({std::string(t.local), std::string(t.domain), t.offset});
  return out;
}

// As GotSkipping, through NextSkippingToken (for skips that are tokens).
std::vector<Tok> GotSkippingToken(std::string_view text, std::string_view token) {
  std::vector<Tok> out;
  AddressTokenCursor cursor(text);
  AddressToken t;
  while (cursor.NextSkippingToken(&t, token)) {
    out.push_back({std::string(t.local), std::string(t.domain), t.offset});
  }
  return out;
}

TEST(AddressFindTest, SkippingATokenDropsExactlyThatSpelling) {
  std::mt19937 rng(8);
  const std::string alphabet = "ab.-@!%&=_ \n\x80Z9";
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 200, ' ');
    for (char& c : text) {
      c = (rng() % 10 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    auto want_all = Reference(text);
    std::vector<std::string> skips = {"", "a@b", "@", "a@", ".a@b", "a@b.", "a@b-", "a(@b", "b@a@b"};
    for (const auto& t : want_all) skips.push_back(t.local + "@" + t.domain);
    for (const auto& skip : skips) {
      std::vector<Tok> want;
      for (const auto& t : want_all) {
        if (t.local + "@" + t.domain != skip) want.push_back(t);
      }
      ASSERT_EQ(GotSkipping(text, skip), want) << i << " skip " << skip;
    }
    // Tokens of this text and of another one: what the guard's walk passes.
    std::vector<std::string> tokens = {""};
    for (const auto& t : want_all) tokens.push_back(t.local + "@" + t.domain);
    for (const auto& t : Reference(text.substr(text.size() / 2) + "x@y.z " + text)) {
      tokens.push_back(t.local + "@" + t.domain);
    }
    for (const auto& token : tokens) {
      ASSERT_EQ(GotSkippingToken(text, token), GotSkipping(text, token)) << i << " " << token;
    }
  }
  const std::string para = "Questions: support@example.com. More: support@example.com.\n";
  EXPECT_TRUE(GotSkipping(para + para, "support@example.com").empty());
  EXPECT_EQ(GotSkipping("xsupport@example.com", "support@example.com").size(), 1u);
  EXPECT_EQ(GotSkipping("support@example.comx", "support@example.com").size(), 1u);
  EXPECT_EQ(GotSkipping("support@example.com.x", "support@example.com").size(), 1u);
  EXPECT_TRUE(GotSkipping("..support@example.com.-. support@example.com-", "support@example.com").empty());
  EXPECT_EQ(GotSkipping("a..support@example.com", "support@example.com").size(), 1u);
}

}  // namespace
}  // namespace sealmail
