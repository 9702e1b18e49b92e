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

// Templates made only of text and variables are rendered without kainjow
// (template_renderer.cc: the flat form). Appending "{{#email}}{{/email}}"
// (email is never empty, the section renders nothing) makes the same
// template go through kainjow: both must give the same bytes, for every
// kind of tag, whitespace, escaping and hostile value.
TEST(TemplateTest, FlatFormRendersExactlyAsKainjow) {
  const std::vector<std::string> shapes = {
      "",
      "plain text, no tags\r\nline two\n",
      "{{first_name}}",
      "Dear {{ first_name }},\n{{{first_name}}} / {{&first_name}} / {{& tier }}\n",
      "{{email}}{{first_name}}{{tier}}",
      "  {{first_name}}  \n\t{{tier}}\r\n",
      "a {{first_name}} b {{{ tier }}} c {{email}} d}} e",
      "<p title=\"{{first_name}}\">{{tier}}</p>\n",
      "} }} {{first_name}}}",
  };
  const std::vector<std::string> values = {
      "", "Tom & <Jerry> \"quoted\" 'single'", "{{tier}}", "\x01" "1\x02", "a\r\nb", "%20/?&=",
      "\xc3\xa9l\xc3\xa8ve"};
  for (const auto& shape : shapes) {
    for (bool html : {false, true}) {
      std::string slow = shape + "{{#email}}{{/email}}";
      auto flat = TemplateRenderer::Compile(
          MakeCampaign("s", html ? "t" : shape, html ? shape : "", "https://x.example/u?e=" + shape),
          kColumns);
      auto kainjow = TemplateRenderer::Compile(
          MakeCampaign("s", html ? "t" : slow, html ? slow : "", "https://x.example/u?e=" + slow),
          kColumns);
      ASSERT_TRUE(flat.ok()) << shape << ": " << flat.status().message();
      ASSERT_TRUE(kainjow.ok()) << slow << ": " << kainjow.status().message();
      EXPECT_TRUE(flat->IsFlat()) << shape;
      EXPECT_FALSE(kainjow->IsFlat()) << slow;
      for (const auto& v : values) {
        Recipient r = Person(v);
        r.fields[1].second = v + "!";
        RenderedContent a, b;
        ASSERT_TRUE(flat->Render(r, &a).ok());
        ASSERT_TRUE(kainjow->Render(r, &b).ok());
        EXPECT_EQ(a.text, b.text) << shape;
        EXPECT_EQ(a.html, b.html) << shape;
        EXPECT_EQ(a.unsubscribe_url, b.unsubscribe_url) << shape;
      }
    }
  }
}

// Fields given in another order than the columns (or missing) still resolve
// by name.
TEST(TemplateTest, FlatFormLooksFieldsUpByName) {
  auto t = TemplateRenderer::Compile(MakeCampaign("s", "{{tier}}-{{first_name}}", ""), kColumns);
  ASSERT_TRUE(t.ok());
  Recipient r = Person("Ann");
  std::swap(r.fields[0], r.fields[1]);
  RenderedContent got;
  ASSERT_TRUE(t->Render(r, &got).ok());
  EXPECT_EQ(got.text, "gold-Ann");
  r.fields.pop_back();
  ASSERT_TRUE(t->Render(r, &got).ok());
  EXPECT_EQ(got.text, "gold-");
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
