#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/campaign.h"

namespace sealmail {
namespace {

namespace fs = std::filesystem;

class CampaignTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sm_config_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    Write("audience.csv", "email,first_name\na@example.com,A\n");
    Write("body.txt", "Hello {{first_name}}\n");
    Write("body.html", "<p>Hello {{first_name}}</p>\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  Result<Campaign> Load(const std::string& toml) {
    Write("campaign.toml", toml);
    return LoadCampaign(dir_.string());
  }
  fs::path dir_;
};

const char kGood[] = R"(name = "c1"
[message]
from = "Example <news@Example.COM>"
subject = "Hi {{first_name}}"
text = "body.txt"
html = "body.html"
[audience]
csv = "audience.csv"
)";

TEST_F(CampaignTest, LoadsMinimalCampaignWithDefaults) {
  auto got = Load(kGood);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->name, "c1");
  EXPECT_EQ(got->message.from.display_name, "Example");
  EXPECT_EQ(got->message.from.address.ToString(), "news@example.com");
  EXPECT_EQ(got->message.text_template, "Hello {{first_name}}\n");
  EXPECT_EQ(got->audience_csv, (dir_ / "audience.csv").string());
  EXPECT_EQ(got->transport.kind, TransportConfig::Kind::kDir);
  EXPECT_EQ(got->transport.dir_path, (dir_ / "out").string());
  EXPECT_EQ(got->transport.concurrency, 8);
  EXPECT_EQ(got->transport.retry_interval_seconds, 60);
  EXPECT_EQ(got->transport.max_age_seconds, 3 * 86400);
  EXPECT_EQ(got->message.unsubscribe_mailto, "news@example.com");
  EXPECT_FALSE(got->dkim.has_value());
}

TEST_F(CampaignTest, LoadsTransportAndDomains) {
  Write("ca.pem", "x");
  auto got = Load(std::string(kGood) + R"(
[transport]
url = "smtp://127.0.0.1:2525?tls=required"
username = "mailer"
password_env = "SEALMAIL_SMTP_PASSWORD"
ca_file = "ca.pem"
concurrency = 4
rate = 12.5
retry_interval = "5m"
max_age = "2d"
[transport.domains."Gmail.com"]
rate = 50
concurrency = 2
)");
  ASSERT_TRUE(got.ok()) << got.status().message();
  const auto& t = got->transport;
  EXPECT_EQ(t.kind, TransportConfig::Kind::kSmtp);
  EXPECT_EQ(t.host, "127.0.0.1");
  EXPECT_EQ(t.port, 2525);
  EXPECT_TRUE(t.tls_required);
  EXPECT_EQ(t.password_env, "SEALMAIL_SMTP_PASSWORD");
  EXPECT_EQ(t.concurrency, 4);
  EXPECT_DOUBLE_EQ(t.rate, 12.5);
  EXPECT_EQ(t.retry_interval_seconds, 300);
  EXPECT_EQ(t.max_age_seconds, 2 * 86400);
  ASSERT_EQ(t.domains.size(), 1u);
  EXPECT_EQ(t.domains[0].domain, "gmail.com");
  EXPECT_EQ(t.domains[0].concurrency, 2);
  EXPECT_EQ(t.timeout_ms, 0);  // not set: RFC 5321's own timeouts
}

TEST_F(CampaignTest, LoadsTimeoutAndMx) {
  auto got = Load(std::string(kGood) + "[transport]\nurl = \"mx:\"\ntimeout = \"30s\"\n");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->transport.kind, TransportConfig::Kind::kMx);
  EXPECT_EQ(got->transport.timeout_ms, 30000);
  got = Load(std::string(kGood) + "[transport]\ntimeout = 5\n");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->transport.timeout_ms, 5000);
}

TEST_F(CampaignTest, BadInputsNameFileLineKeyAndExpectation) {
  struct Case {
    std::string name, toml, want;  // want: substring of the error
  } cases[] = {
      {"unknown top key", "nmae = \"x\"\n" + std::string(kGood),
       "campaign.toml:1: unknown key nmae"},
      {"unknown audience key", std::string(kGood) + "nmae = \"x\"\n",
       "campaign.toml:9: unknown key [audience] nmae (known keys here: csv)"},
      {"unknown message key",
       "name = \"c1\"\n[message]\nfrom = \"a@example.com\"\nsubjet = \"x\"\n",
       "campaign.toml:4: unknown key [message] subjet"},
      {"missing name", "[message]\nfrom = \"a@example.com\"\n", "name: missing (required)"},
      {"missing message", "name = \"c1\"\n", "missing table [message]"},
      {"wrong type", "name = 5\n", "campaign.toml:1: name: expected a string, got an integer"},
      {"bad from", "name = \"c1\"\n[message]\nfrom = \"a@example.com, b@example.com\"\n",
       "campaign.toml:3: [message] from:"},
      {"missing subject", "name = \"c1\"\n[message]\nfrom = \"a@example.com\"\ntext = \"body.txt\"\n",
       "[message] subject: missing (required)"},
      {"missing template file",
       "name = \"c1\"\n[message]\nfrom = \"a@example.com\"\nsubject = \"s\"\ntext = \"nope.txt\"\n",
       "campaign.toml:5: [message] text:"},
      {"bad toml", "name = \"c1\n", "campaign.toml:1:"},
      {"bad name", "name = \"has space\"\n", "campaign.toml:1: name: expected 1-100 letters"},
      {"bad concurrency", std::string(kGood) + "[transport]\nconcurrency = 0\n",
       "campaign.toml:10: [transport] concurrency: expected an integer from 1 to 1000, got 0"},
      {"concurrency string", std::string(kGood) + "[transport]\nconcurrency = \"8\"\n",
       "[transport] concurrency: expected an integer, got a string"},
      {"bad url", std::string(kGood) + "[transport]\nurl = \"http://x\"\n",
       "[transport] url: unknown scheme"},
      {"bad port", std::string(kGood) + "[transport]\nurl = \"smtp://h:99999\"\n",
       "bad port \"99999\""},
      {"credentials in url", std::string(kGood) + "[transport]\nurl = \"smtp://u:p@h:25\"\n",
       "credentials do not belong in the URL"},
      {"secret in toml", std::string(kGood) + "[transport]\nusername = \"u\"\npassword_env = \"hunter2!\"\n",
       "expected the NAME of an environment variable"},
      {"timeout too long", std::string(kGood) + "[transport]\ntimeout = \"1h\"\n",
       "campaign.toml:10: [transport] timeout: expected at most \"10m\""},
      {"timeout not a duration", std::string(kGood) + "[transport]\ntimeout = \"soon\"\n",
       "campaign.toml:10: [transport] timeout: expected a duration"},
      {"timeout zero", std::string(kGood) + "[transport]\ntimeout = 0\n",
       "campaign.toml:10: [transport] timeout: must be positive"},
      {"timeout bool", std::string(kGood) + "[transport]\ntimeout = true\n",
       "campaign.toml:10: [transport] timeout: expected a duration"},
      {"mx with auth", std::string(kGood) + "[transport]\nurl = \"mx:\"\nusername = \"u\"\npassword_env = \"P\"\n",
       "campaign.toml:11: [transport] username: mx: delivers to each domain's MX hosts"},
      {"mx with ca_file", std::string(kGood) + "[transport]\nurl = \"mx:\"\nca_file = \"body.txt\"\n",
       "campaign.toml:11: [transport] ca_file: mx: uses STARTTLS opportunistically"},
      {"bad duration", std::string(kGood) + "[transport]\nretry_interval = \"5 minutes\"\n",
       "[transport] retry_interval: unknown duration unit"},
      {"bad dkim alg", std::string(kGood) + "[dkim]\ndomain=\"example.com\"\nselector=\"s\"\nkey=\"body.txt\"\nalgorithm=\"rsa-sha1\"\n",
       "[dkim] algorithm: expected \"rsa-sha256\" or \"ed25519-sha256\""},
      {"missing csv", "name = \"c1\"\n[message]\nfrom = \"a@example.com\"\nsubject = \"s\"\ntext = \"body.txt\"\n[audience]\ncsv = \"x.csv\"\n",
       "[audience] csv:"},
      {"http unsubscribe", std::string(kGood).replace(std::string(kGood).find("[audience]"), 0, "unsubscribe_url = \"http://x\"\n"),
       "unsubscribe_url: must start with https://"},
  };
  for (const auto& c : cases) {
    auto got = Load(c.toml);
    ASSERT_FALSE(got.ok()) << c.name;
    EXPECT_EQ(got.status().code(), Status::Code::kInvalid) << c.name;
    EXPECT_NE(got.status().message().find(c.want), std::string::npos)
        << c.name << "\n got: " << got.status().message() << "\nwant: " << c.want;
  }
}

TEST_F(CampaignTest, NotADirectory) {
  auto got = LoadCampaign((dir_ / "nope").string());
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("not a campaign directory"), std::string::npos);
}

TEST(DurationTest, Parses) {
  EXPECT_EQ(*ParseDuration("90"), 90);
  EXPECT_EQ(*ParseDuration("90s"), 90);
  EXPECT_EQ(*ParseDuration("15m"), 900);
  EXPECT_EQ(*ParseDuration("2h"), 7200);
  EXPECT_EQ(*ParseDuration("3d"), 259200);
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("-5s").ok());
  EXPECT_FALSE(ParseDuration("5w").ok());
}

}  // namespace
}  // namespace sealmail
