#include <gtest/gtest.h>

#include <filesystem>

#include "base/file.h"
#include "base/hash.h"
#include "base/status.h"
#include "base/utf8.h"

namespace sealmail {
namespace {

TEST(StatusTest, ResultCarriesValueOrStatus) {
  Result<int> good = 42;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad = Status::Invalid("x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalid);
  EXPECT_EQ(Status::Io("disk").WithPrefix("state").message(), "state: disk");
}

TEST(HashTest, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(Hash64("a@example.com"), Hash64("b@example.com"));
}

TEST(HashTest, Sha256OfPartsIsTheDigestOfTheirConcatenation) {
  auto whole = Sha256("abcdef");
  EXPECT_EQ(Sha256Of({"ab", "", "cde", "f"}), whole);
  EXPECT_EQ(Sha256Of({}), Sha256(""));
  EXPECT_NE(Sha256Of({"ab", "cdf"}), whole);
}

// GMAC known answers: the GCM specification's test case 1 (zero key, zero
// nonce, nothing hashed), and the tag that Python's `cryptography`
// (AESGCM(bytes(range(16))).encrypt(bytes(12), b"", aad)) gives for this aad.
TEST(HashTest, KeyedDigestIsGmac) {
  auto hex = [](const KeyedDigest::Digest& d) { return HexEncode(d.data(), d.size()); };
  const KeyedDigest zero = KeyedDigest::WithKeyForTesting({});
  EXPECT_EQ(hex(zero.Of({})), "58e2fccefa7e3061367f1d57a4e7455a");
  std::array<uint8_t, 16> key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  const KeyedDigest d = KeyedDigest::WithKeyForTesting(key);
  const std::string_view nul("\0", 1);
  const std::string want = "f9be98a630bb9fe57c73dfea15efa61f";
  EXPECT_EQ(hex(d.Of({"recipient@example.com", nul, "Date:", "\r\nTo: x\r\n"})), want);
  // The same digest however the bytes are cut, with the thread's context
  // serving another key in between.
  EXPECT_EQ(hex(zero.Of({})), "58e2fccefa7e3061367f1d57a4e7455a");
  EXPECT_EQ(hex(d.Of({"recip", "", "ient@example.com", nul, "Date:\r", "\nTo: x\r\n"})), want);
  EXPECT_NE(hex(d.Of({"recipient@example.com", nul, "Date:", "\r\nTo: y\r\n"})), want);
}

TEST(HashTest, KeyedDigestsOfTwoKeysDiffer) {
  const KeyedDigest a, b;
  EXPECT_EQ(a.Of({"same bytes"}), a.Of({"same", " bytes"}));
  EXPECT_NE(a.Of({"same bytes"}), b.Of({"same bytes"}));
  EXPECT_NE(a.Of({""}), a.Of({std::string_view("\0", 1)}));
}

TEST(Utf8Test, Validates) {
  struct Case {
    std::string in;
    bool want;
  } cases[] = {
      {"plain", true},          {"J\xC3\xBCrgen", true},     {"\xC3", false},
      {"\xC0\xAF", false},      {"\xED\xA0\x80", false},     {"\xF4\x90\x80\x80", false},
      {"\xF0\x9F\x98\x80", true}, {"\xFF", false},
  };
  for (const auto& c : cases) EXPECT_EQ(IsValidUtf8(c.in), c.want) << c.in;
}

TEST(FileTest, AtomicWriteThenRead) {
  auto dir = std::filesystem::temp_directory_path() / ("sm_base_test_" + std::to_string(::getpid()));
  ASSERT_TRUE(MakeDirs(dir.string()).ok());
  std::string path = (dir / "f.txt").string();
  ASSERT_TRUE(WriteFileAtomic(path, "hello\r\n").ok());
  auto got = ReadFile(path);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "hello\r\n");
  auto missing = ReadFile((dir / "nope").string());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sealmail
