#include <gtest/gtest.h>

#include "template/template_renderer.h"

namespace sealmail {
namespace {

Campaign MakeCampaign(std::string subject, std::string text, std::string html,
                      std::string unsub = "") {
  Campaign c;
  c.file = "c/campaign.toml";
  c.message.subject = std::move(subject);
  c.message.text_path = "/x/body.txt";
  c.message.text_template = std::move(text);
  if (!html.empty()) {
    c.message.html_path = "/x/body.html";
    c.message.html_template = std::move(html);
  }
  c.message.unsubscribe_url = std::move(unsub);
  return c;
}

Recipient Person(std::string first) {
  Recipient r;
  r.email = "jo@example.com";
  r.key = r.email;
  r.line = 7;
  r.fields = {{"first_name", std::move(first)}, {"tier", "gold"}};
  return r;
}

const std::vector<std::string> kColumns = {"first_name", "tier"};

TEST(TemplateTest, RendersWithEscapingPerDestination) {
  auto c = MakeCampaign("Hi {{first_name}}", "Dear {{first_name}} <{{email}}>\n",
                        "<p>Dear {{first_name}}</p>", "https://x.example/u?e={{email}}");
  auto t = TemplateRenderer::Compile(c, kColumns);
  ASSERT_TRUE(t.ok()) << t.status().message();
  RenderedContent got;
  ASSERT_TRUE(t->Render(Person("Tom & <Jerry>"), &got).ok());
  EXPECT_EQ(got.subject, "Hi Tom & <Jerry>");
  EXPECT_EQ(got.text, "Dear Tom & <Jerry> <jo@example.com>\n");
  EXPECT_EQ(got.html, "<p>Dear Tom &amp; &lt;Jerry&gt;</p>");
  EXPECT_EQ(got.unsubscribe_url, "https://x.example/u?e=jo%40example.com");
}

TEST(TemplateTest, CopiesRenderIndependently) {
  auto c = MakeCampaign("Hi {{first_name}}", "x", "<b>{{first_name}}</b>");
  auto t = TemplateRenderer::Compile(c, kColumns);
  ASSERT_TRUE(t.ok());
  TemplateRenderer copy(*t);
  RenderedContent a, b;
  ASSERT_TRUE(t->Render(Person("A&"), &a).ok());
  ASSERT_TRUE(copy.Render(Person("B&"), &b).ok());
  EXPECT_EQ(a.html, "<b>A&amp;</b>");
  EXPECT_EQ(b.html, "<b>B&amp;</b>");
}

TEST(TemplateTest, MissingFieldIsAPreflightErrorWithTemplateAndLine) {
  struct Case {
    std::string subject, text, html, want;
  } cases[] = {
      {"Hi {{frist_name}}", "x", "",
       "c/campaign.toml [message] subject:1: {{frist_name}} is not a column of the audience "
       "(columns: email, first_name, tier)"},
      {"Hi", "line1\nline2 {{referrer}}\n", "", "body.txt:2: {{referrer}} is not a column"},
      {"Hi", "x", "<p>\n\n{{#vip}}VIP{{/vip}}</p>", "body.html:3: {{vip}} is not a column"},
      {"Hi", "{{^premium}}basic{{/premium}}", "", "body.txt:1: {{premium}} is not a column"},
      // Names inside sections are checked whether or not the section is taken.
      {"Hi", "{{#tier}}{{discount}}{{/tier}}", "", "body.txt:1: {{discount}} is not a column"},
      {"Hi", "{{^tier}}{{discount}}{{/tier}}", "", "body.txt:1: {{discount}} is not a column"},
      {"Hi", "{{> footer}}", "", "body.txt:1: {{> footer}}: partials are not supported"},
      {"Hi", "{{#open}} never closed", "", "body.txt: not a valid Mustache template"},
  };
  for (const auto& c : cases) {
    auto t = TemplateRenderer::Compile(MakeCampaign(c.subject, c.text, c.html), kColumns);
    ASSERT_FALSE(t.ok()) << c.want;
    EXPECT_NE(t.status().message().find(c.want), std::string::npos)
        << " got: " << t.status().message() << "\nwant: " << c.want;
  }
}

TEST(TemplateTest, SubjectInjectionThroughAMergeValueIsRefusedNamingTheField) {
  auto t = TemplateRenderer::Compile(MakeCampaign("Hi {{first_name}}", "x", ""), kColumns);
  ASSERT_TRUE(t.ok());
  for (const std::string& evil : std::vector<std::string>{"Tom\r\nBcc: all@example.com", "Tom\nBcc: x@example.com",
                           "Tom\rX: y", std::string("Tom\0x", 5)}) {
    RenderedContent got;
    Status s = t->Render(Person(evil), &got);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("line 7: field \"first_name\" puts"), std::string::npos)
        << s.message();
  }
  // A line break in a body field is content, not injection.
  auto body = TemplateRenderer::Compile(MakeCampaign("Hi", "{{first_name}}", ""), kColumns);
  RenderedContent got;
  EXPECT_TRUE(body->Render(Person("two\nlines"), &got).ok());
  EXPECT_EQ(got.text, "two\nlines");
}

TEST(TemplateTest, MultiLineSubjectTemplateIsRefused) {
  auto t = TemplateRenderer::Compile(MakeCampaign("Hi\nBcc: x@example.com", "x", ""), kColumns);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("subject: must be one line"), std::string::npos);
}

}  // namespace
}  // namespace sealmail
