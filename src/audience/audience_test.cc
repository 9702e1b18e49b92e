#include "audience/audience_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "address/address.h"
#include "base/hash.h"

namespace sealmail {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

const char* KindName(AudienceError::Kind k) {
  switch (k) {
    case AudienceError::Kind::kInvalidAddress:
      return "invalid";
    case AudienceError::Kind::kDuplicate:
      return "duplicate";
    case AudienceError::Kind::kFieldCount:
      return "field_count";
    case AudienceError::Kind::kEncoding:
      return "encoding";
    case AudienceError::Kind::kEmptyEmail:
      return "empty_email";
  }
  return "?";
}

// "line email name=[value] ..." so that a whole read compares as strings.
std::string Describe(const Recipient& r) {
  std::string s = std::to_string(r.line) + " " + r.email;
  for (const auto& [name, value] : r.fields) s += " " + name + "=[" + value + "]";
  return s;
}

// "line kind field [dup=N]"; reasons are checked separately (the address
// reasons belong to src/address).
std::string Describe(const AudienceError& e) {
  std::string s = std::to_string(e.line) + " " + KindName(e.kind);
  if (!e.field.empty()) s += " " + e.field;
  if (e.kind == AudienceError::Kind::kDuplicate) s += " dup=" + std::to_string(e.duplicate_of);
  return s;
}

struct ReadAll {
  Status status;  // the Open() or first failing Next() status
  std::vector<std::string> field_names;
  std::vector<std::string> got;
  std::vector<std::string> errors;
  std::vector<AudienceError> raw_errors;
  AudienceSummary summary;
};

ReadAll Read(const std::string& path) {
  ReadAll r;
  auto reader = AudienceReader::Open(path);
  if (!reader.ok()) {
    r.status = reader.status();
    return r;
  }
  r.field_names = (*reader)->field_names();
  Recipient rec;
  for (;;) {
    Result<bool> more = (*reader)->Next(&rec);
    if (!more.ok()) {
      r.status = more.status();
      break;
    }
    if (!*more) break;
    r.got.push_back(Describe(rec));
  }
  for (const auto& e : (*reader)->errors()) r.errors.push_back(Describe(e));
  r.raw_errors = (*reader)->errors();
  r.summary = (*reader)->summary();
  return r;
}

class AudienceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sm_audience_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, std::string_view content) {
    std::string path = (dir_ / name).string();
    std::ofstream f(path, std::ios::binary);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    return path;
  }

  fs::path dir_;
};

struct RowCase {
  std::string name;
  std::string csv;
  std::vector<std::string> want;
  std::vector<std::string> want_errors;
};

TEST_F(AudienceTest, Rows) {
  const RowCase cases[] = {
      {"quoting",
       "email,name,note\n"
       "a@example.com,\"Doe, Jane\",\"say \"\"hi\"\", then go\"\n"
       "b@example.com,\"multi\nline\nname\",x\n"
       "c@example.com,Carl,\"a,b\"\n"
       "d@example.com,\"\",\"\"\"\"\n",
       {"2 a@example.com name=[Doe, Jane] note=[say \"hi\", then go]",
        "3 b@example.com name=[multi\nline\nname] note=[x]",
        "6 c@example.com name=[Carl] note=[a,b]", "7 d@example.com name=[] note=[\"]"},
       {}},
      {"quoted_newline_in_first_and_last_field",
       "note,email\n"
       "\"one\ntwo\",a@example.com\n"
       "x,\"b@example.com\"\n"
       "y,c@example.com\n",
       {"2 a@example.com note=[one\ntwo]", "4 b@example.com note=[x]", "5 c@example.com note=[y]"},
       {}},
      {"bom_crlf",
       "\xEF\xBB\xBF"
       "email,name\r\n"
       "a@example.com,Ann\r\n"
       "\r\n"
       "b@example.com,\"two\r\nlines\"\r\n"
       "c@example.com,\"Cy\"\r\n",
       {"2 a@example.com name=[Ann]", "4 b@example.com name=[two\r\nlines]",
        "6 c@example.com name=[Cy]"},
       {}},
      {"blank_lines_and_no_final_newline",
       "\n\nemail,name\n\n  \n\t\r\na@example.com,Ann\n\nb@example.com,Bo",
       {"7 a@example.com name=[Ann]", "9 b@example.com name=[Bo]"},
       {}},
      {"spaces_around_unquoted_fields_are_trimmed_quoted_kept",
       "email, name\n  a@example.com ,  Ann  \nb@example.com,\"  Bo \"\n",
       {"2 a@example.com name=[Ann]", "3 b@example.com name=[  Bo ]"},
       {}},
      {"email_only", "Email\nA@Example.COM\n", {"2 A@example.com"}, {}},
      {"short_and_long_rows",
       "email,first_name,last_name\n"
       "a@example.com,Ann\n"
       "b@example.com,Bo,Berg,extra\n"
       "c@example.com,Cy,Cole\n"
       "d@example.com,Doe, Jane,x\n"
       "e@example.com\n"
       ",,,,,,\n",
       {"4 c@example.com first_name=[Cy] last_name=[Cole]"},
       {"2 field_count", "3 field_count", "5 field_count", "6 field_count", "7 field_count"}},
      {"two_addresses_in_one_cell",
       "email,name\n"
       "\"a@example.com,b@example.com\",x\n"
       "\"a@example.com, b@example.com\",x\n"
       "a@example.com;b@example.com,x\n"
       "a@example.com; b@example.com,x\n"
       "a@example.com b@example.com,x\n"
       "a@example.com and b@example.com,x\n"
       "\"a@example.com\nb@example.com\",x\n"
       "\"a@example.com\r\nb@example.com\",x\n"
       "a@example.com/b@example.com,x\n"
       "a@example.com & b@example.com,x\n"
       "\"a@example.com\tb@example.com\",x\n"
       "<a@example.com> <b@example.com>,x\n"
       "ok@example.com,y\n",
       {"16 ok@example.com name=[y]"},
       {"2 invalid email", "3 invalid email", "4 invalid email", "5 invalid email",
        "6 invalid email", "7 invalid email", "8 invalid email", "10 invalid email",
        "12 invalid email", "13 invalid email", "14 invalid email", "15 invalid email"}},
      {"invalid_utf8_and_nul",
       "email,name\n"
       "a@example.com,Ren\xE9\n"
       "b\xFF@example.com,Bo\n"
       "c@example.com,\"nul\0x\"\n"s
       "d@example.com,Zo\xC3\xAB\n"
       "e@example.com,\xC0\xAF\n",
       {"5 d@example.com name=[Zo\xC3\xAB]"},
       {"2 encoding name", "3 encoding email", "4 encoding name", "6 encoding name"}},
      {"empty_email",
       "email,name\n,Ann\n\"  \",Bo\n\"\",Cy\nd@example.com,Di\n",
       {"5 d@example.com name=[Di]"},
       {"2 empty_email email", "3 empty_email email", "4 empty_email email"}},
      {"duplicates_by_case_and_idn_form",
       "email,name\n"
       "Ann@Example.com,A\n"
       "ann@example.com,B\n"
       "ANN@EXAMPLE.COM,C\n"
       "info@b\xC3\xBC"
       "cher.example,D\n"
       "info@xn--bcher-kva.example,E\n"
       "INFO@XN--BCHER-KVA.EXAMPLE,F\n"
       "\"info@B\xC3\xBC"
       "cher.example\",G\n"
       "bob@example.com,H\n"
       "Ann@example.com,I\n",
       {"2 Ann@example.com name=[A]", "5 info@xn--bcher-kva.example name=[D]",
        "9 bob@example.com name=[H]"},
       {"3 duplicate email dup=2", "4 duplicate email dup=2", "6 duplicate email dup=5",
        "7 duplicate email dup=5", "8 duplicate email dup=5", "10 duplicate email dup=2"}},
      {"refused_rows_do_not_claim_the_address",
       "email,name\n"
       "a@example.com,\xFF\n"
       "a@example.com,ok\n"
       "a@example.com,again\n",
       {"3 a@example.com name=[ok]"},
       {"2 encoding name", "4 duplicate email dup=3"}},
      {"header_only", "email,first_name\n", {}, {}},
      {"header_only_bom_no_newline",
       "\xEF\xBB\xBF"
       "EMAIL",
       {},
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ReadAll r = Read(Write(c.name + ".csv", c.csv));
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.got, c.want);
    EXPECT_EQ(r.errors, c.want_errors);
    const AudienceSummary& s = r.summary;
    EXPECT_EQ(s.rows, c.want.size() + c.want_errors.size());
    EXPECT_EQ(s.accepted, c.want.size());
    EXPECT_EQ(s.rows, s.accepted + s.invalid + s.duplicates);
  }
}

TEST_F(AudienceTest, ErrorMessages) {
  std::string path = Write("a.csv",
                           "email,name\n"
                           "a@example.com,Ann\n"
                           "b@example.com\n"
                           "c@example.com,Cy,extra\n"
                           "d@example.com,Ren\xE9\n"
                           "A@example.com,Dup\n"
                           ",Nobody\n"
                           "\"x@example.com,y@example.com\",Two\n");
  ReadAll r = Read(path);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  std::vector<std::string> got;
  for (const auto& e : r.raw_errors) got.push_back(e.ToString("audience.csv"));
  std::vector<std::string> want = {
      "audience.csv:3: the row has 1 field but the header has 2",
      "audience.csv:4: the row has 3 fields but the header has 2; a value containing ',' must be "
      "enclosed in '\"'",
      "audience.csv:5: name: not valid UTF-8 (byte 0xE9 at position 4); save the file as UTF-8 "
      "(\"CSV UTF-8\" in Excel)",
      "audience.csv:6: email: duplicate of line 2",
      "audience.csv:7: email: empty: no address in this row",
      "audience.csv:8: email: " + ParseAddress("x@example.com,y@example.com").status().message(),
  };
  EXPECT_EQ(got, want);
  // Duplicates carry their own text even when built without a reason.
  AudienceError e{AudienceError::Kind::kDuplicate, 17, "email", ""};
  e.duplicate_of = 5;
  EXPECT_EQ(e.ToString("audience.csv"), "audience.csv:17: email: duplicate of line 5");
}

struct FatalCase {
  std::string name;
  std::string csv;
  size_t want_accepted;  // recipients delivered before the error
  std::string want;      // the message after "<path>:"
};

TEST_F(AudienceTest, FatalErrors) {
  const FatalCase cases[] = {
      {"empty_file", "", 0, "1: the file is empty: no header row"},
      {"only_blank_lines", "\n\r\n  \n", 0, "1: the file is empty: no header row"},
      {"missing_email_column", "name,first_name\nAnn,A\n", 0, "1: no 'email' column in the header"},
      {"email_hint", "E-Mail,name\n", 0,
       "1: no 'email' column in the header; rename column 1 'E-Mail' to 'email'?"},
      {"two_email_columns", "email,name,EMAIL\n", 0,
       "1: two email columns: column 1 'email' and column 3 'EMAIL'; keep exactly one"},
      {"column_with_space", "email,first name\n", 0,
       "1: column 2 'first name': a column name may hold only letters, digits, '_' and '-' (it "
       "becomes a template field {{name}})"},
      {"column_with_dot", "email,na.me\n", 0,
       "1: column 2 'na.me': a column name may hold only letters, digits, '_' and '-' (it "
       "becomes a template field {{name}})"},
      {"column_mustache", "email,{{x}}\n", 0,
       "1: column 2 '{{x}}': a column name may hold only letters, digits, '_' and '-' (it "
       "becomes a template field {{name}})"},
      {"column_non_ascii", "email,Pr\xC3\xA9nom\n", 0,
       "1: column 2 'Pr\xC3\xA9nom': a column name may hold only letters, digits, '_' and '-' "
       "(it becomes a template field {{name}})"},
      {"column_newline", "email,\"a\nb\"\n", 0,
       "1: column 2 'a\\x0Ab': a column name may hold only letters, digits, '_' and '-' (it "
       "becomes a template field {{name}})"},
      {"column_empty", "email,,x\n", 0, "1: column 2 has no name"},
      {"column_repeated", "email,name,tier,Name\n", 0,
       "1: column 4 'Name' repeats column 2 'name'"},
      {"header_after_blank_lines", "\n\nemail,bad name\n", 0, "3: column 2 'bad name'"},
      {"header_not_utf8", "email,Pr\xE9nom\n", 0,
       "1: column 2: the header is not valid UTF-8; save the file as UTF-8"},
      {"bare_cr_line_ends", "email,name\ra@example.com,Ann\r", 0,
       "1: column 2 'name\\x0Da@example.com': holds a carriage return; lines must end in LF or "
       "CRLF, not CR alone"},
      {"utf16",
       std::string("\xFF\xFE"
                   "e\0m\0a\0i\0l\0\n\0",
                   14),
       0, "1: the file is UTF-16; save it as UTF-8 (\"CSV UTF-8\" in Excel)"},
      {"unterminated_quote_at_eof",
       "email,name\na@example.com,Ann\nb@example.com,\"Bo\nc@example.com,Cy\n", 1,
       "3: a quoted field starting in this row never closes: '\"' missing before the end of the "
       "file"},
      {"unterminated_quote_in_header", "email,\"name\n", 0,
       "1: a quoted field starting in this row never closes"},
      {"stray_quote_in_unquoted_field", "email,name\na@example.com,Ann\nb@example.com,O\"Brien\n",
       1,
       "3: malformed CSV at byte 16 of the line: a '\"' inside an unquoted field; to put '\"' in "
       "a field, quote the whole field and double the '\"' (\"O\"\"Brien\")"},
      {"text_after_closing_quote", "email,note\na@example.com,\"x\ny\"z\n", 0,
       "3: malformed CSV at byte 3 of the line: text after the closing '\"' of a quoted field; to "
       "put '\"' in a field, quote the whole field and double the '\"' (\"O\"\"Brien\") (the row "
       "starts on line 2)"},
      {"record_too_long",
       "email,note\na@example.com,ok\nb@example.com,\"" + std::string(1100000, 'x') + "\"\n", 1,
       "3: the row starting here is longer than 1 MiB; is a quoted field missing its closing "
       "'\"'?"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string path = Write(c.name + ".csv", c.csv);
    ReadAll r = Read(path);
    EXPECT_EQ(r.status.code(), Status::Code::kInvalid);
    std::string want = path + ":" + c.want;
    EXPECT_EQ(r.status.message().substr(0, want.size()), want);
    EXPECT_EQ(r.got.size(), c.want_accepted);
  }
}

TEST_F(AudienceTest, OpenRefusesMissingFileAndDirectory) {
  auto missing = AudienceReader::Open((dir_ / "nope.csv").string());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.csv"), std::string::npos);
  auto dir = AudienceReader::Open(dir_.string());
  EXPECT_EQ(dir.status().code(), Status::Code::kInvalid);
  EXPECT_EQ(dir.status().message(), dir_.string() + ": not a regular file");
}

TEST_F(AudienceTest, FatalErrorIsSticky) {
  auto reader = AudienceReader::Open(Write("a.csv", "email\na@example.com\n\"b@example.com\n"));
  ASSERT_TRUE(reader.ok());
  Recipient r;
  EXPECT_TRUE(*(*reader)->Next(&r));
  Result<bool> first = (*reader)->Next(&r);
  ASSERT_FALSE(first.ok());
  Result<bool> again = (*reader)->Next(&r);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), first.status().message());
}

// The address Next hands out is the one the row was accepted with, and the
// same as parsing the recipient's email again (what LoadAudienceSet did).
TEST_F(AudienceTest, NextGivesTheParsedAddress) {
  auto reader = AudienceReader::Open(
      Write("a.csv", "email\nJo.Doe@Example.COM\nkunde@B\xc3\x9c" "CHER.example\n"
                     "\"\"\"quoted local\"\"@example.org\"\nzo\xc3\xab@ex\xc3\xa4mple.org\n"));
  ASSERT_TRUE(reader.ok());
  Recipient r;
  Address a;
  int n = 0;
  while (*(*reader)->Next(&r, &a)) {
    ++n;
    auto again = ParseAddress(r.email);
    ASSERT_TRUE(again.ok()) << r.email;
    EXPECT_EQ(a.local, again->local) << r.email;
    EXPECT_EQ(a.domain, again->domain) << r.email;
    EXPECT_EQ(a.domain_unicode, again->domain_unicode) << r.email;
    EXPECT_EQ(a.Key(), r.key) << r.email;
  }
  EXPECT_EQ(n, 4);
}

TEST_F(AudienceTest, EndIsSticky) {
  auto reader = AudienceReader::Open(Write("a.csv", "email\na@example.com\n"));
  ASSERT_TRUE(reader.ok());
  Recipient r;
  EXPECT_TRUE(*(*reader)->Next(&r));
  EXPECT_FALSE(*(*reader)->Next(&r));
  EXPECT_FALSE(*(*reader)->Next(&r));
  EXPECT_EQ((*reader)->path(), (dir_ / "a.csv").string());
}

TEST_F(AudienceTest, SinkSeesEveryErrorButOnlyTheFirstAreKept) {
  std::string csv = "email,name\n";
  const size_t kBad = AudienceReader::kMaxKeptErrors + 5;
  for (size_t i = 0; i < kBad; ++i) csv += "not-an-address,x\n";
  csv += "ok@example.com,y\n";
  auto reader = AudienceReader::Open(Write("a.csv", csv));
  ASSERT_TRUE(reader.ok());
  std::vector<uint64_t> sunk;
  (*reader)->set_error_sink([&](const AudienceError& e) { sunk.push_back(e.line); });
  Recipient r;
  ASSERT_TRUE(*(*reader)->Next(&r));
  EXPECT_EQ(r.line, kBad + 2);
  EXPECT_FALSE(*(*reader)->Next(&r));
  EXPECT_EQ(sunk.size(), kBad);
  EXPECT_EQ(sunk.back(), kBad + 1);
  EXPECT_EQ((*reader)->errors().size(), AudienceReader::kMaxKeptErrors);
  EXPECT_EQ((*reader)->summary().invalid, kBad);
  EXPECT_EQ((*reader)->summary().rows, kBad + 1);
}

// Two distinct keys with the same Hash64, found offline by a distinguished-
// point search. The reader must not call the second a duplicate of the first.
TEST_F(AudienceTest, HashCollisionIsNotADuplicate) {
  const std::string a = "uee97db02e0be0eff@example.com";
  const std::string b = "uca8c1487128d65ae@example.com";
  ASSERT_NE(a, b);
  ASSERT_EQ(Hash64(a), Hash64(b)) << "Hash64 changed; find a new colliding pair";
  std::string csv = "email,n\n" + a + ",1\n";
  // Push the rows apart so that confirming needs a re-read from a checkpoint.
  for (int i = 0; i < 40; ++i) csv += "\"filler" + std::to_string(i) + "@example.com\",\"x\ny\"\n";
  csv += b + ",2\n" + b + ",3\n" + a + ",4\n";
  ReadAll r = Read(Write("a.csv", csv));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.got.size(), 42u);
  EXPECT_EQ(r.got.front(), "2 " + a + " n=[1]");
  EXPECT_EQ(r.got.back(), "83 " + b + " n=[2]");
  EXPECT_EQ(r.errors,
            (std::vector<std::string>{"84 duplicate email dup=83", "85 duplicate email dup=2"}));
}

// A duplicate far from the first row, with multi-line rows in between, is
// confirmed by re-reading the first row from a checkpoint.
TEST_F(AudienceTest, DuplicateLineAcrossMultiLineRows) {
  std::string csv = "email,note\n";
  uint64_t line = 2;
  std::vector<uint64_t> lines;
  for (int i = 0; i < 100; ++i) {
    lines.push_back(line);
    int extra = i % 3;  // 0..2 embedded newlines
    std::string note = "n";
    for (int k = 0; k < extra; ++k) note += "\nmore";
    csv += "u" + std::to_string(i) + "@example.com,\"" + note + "\"\n";
    line += 1 + extra;
  }
  csv += "U37@EXAMPLE.com,x\nu99@example.com,y\nu0@example.com,z\n";
  ReadAll r = Read(Write("a.csv", csv));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.got.size(), 100u);
  EXPECT_EQ(r.errors,
            (std::vector<std::string>{
                std::to_string(line) + " duplicate email dup=" + std::to_string(lines[37]),
                std::to_string(line + 1) + " duplicate email dup=" + std::to_string(lines[99]),
                std::to_string(line + 2) + " duplicate email dup=2"}));
}

// Streams a large generated file: counts add up, lines are exact, and Next()
// fills the caller's Recipient in place (the reader keeps no rows). The file
// is written in the test's temp dir; time and memory are measured by
// bench/audience_bench.sh, not asserted here.
TEST_F(AudienceTest, StreamsManyRows) {
  const char* env = std::getenv("SEALMAIL_AUDIENCE_ROWS");
  const uint64_t kRows = env ? std::strtoull(env, nullptr, 10) : 200000;
  std::string path = (dir_ / "big.csv").string();
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("email,first_name,last_name,tier\n", f);
    for (uint64_t i = 0; i < kRows; ++i) {
      if (i % 1000 == 500) {
        std::fprintf(f, "user%llu@@example.com,Bad,Row,x\n", static_cast<unsigned long long>(i));
      } else if (i % 1000 == 999) {
        // The previous row again, in another case: a duplicate.
        std::fprintf(f, "USER%llu@Example.COM,\"Dup, Again\",Row,x\n",
                     static_cast<unsigned long long>(i - 1));
      } else {
        std::fprintf(f, "user%llu@example.com,J\xC3\xBCrgen,\"M\xC3\xBCller, Jr.\",gold\n",
                     static_cast<unsigned long long>(i));
      }
    }
    ASSERT_EQ(std::fclose(f), 0);
  }
  auto reader = AudienceReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  uint64_t dups = 0, dup_lines_ok = 0;
  (*reader)->set_error_sink([&](const AudienceError& e) {
    if (e.kind != AudienceError::Kind::kDuplicate) return;
    ++dups;
    if (e.duplicate_of + 1 == e.line) ++dup_lines_ok;
  });
  Recipient r;
  uint64_t accepted = 0, lines_ok = 0;
  const std::pair<std::string, std::string>* fields_at = nullptr;
  bool reused = true;
  for (;;) {
    Result<bool> more = (*reader)->Next(&r);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    if (fields_at != nullptr && r.fields.data() != fields_at) reused = false;
    fields_at = r.fields.data();
    if (accepted == 0) {
      EXPECT_EQ(Describe(r),
                "2 user0@example.com first_name=[J\xC3\xBCrgen] last_name=[M\xC3\xBCller, Jr.] "
                "tier=[gold]");
    }
    uint64_t i = r.line - 2;
    if (r.email == "user" + std::to_string(i) + "@example.com") ++lines_ok;
    ++accepted;
  }
  EXPECT_TRUE(reused);
  const uint64_t kBadRows = kRows / 1000, kDupRows = kRows / 1000;
  const AudienceSummary& s = (*reader)->summary();
  EXPECT_EQ(s.rows, kRows);
  EXPECT_EQ(s.accepted, kRows - kBadRows - kDupRows);
  EXPECT_EQ(s.invalid, kBadRows);
  EXPECT_EQ(s.duplicates, kDupRows);
  EXPECT_EQ(accepted, s.accepted);
  EXPECT_EQ(lines_ok, accepted);
  EXPECT_EQ(dups, kDupRows);
  EXPECT_EQ(dup_lines_ok, kDupRows);
}

}  // namespace
}  // namespace sealmail
