// TemplateRenderer: the campaign's Mustache templates (subject, text, html and
// the optional unsubscribe URL), compiled once and rendered per recipient.
//
// Escaping differs by destination: the HTML part escapes merge values
// (& < > " '), the text part and subject take them as they are, and the
// unsubscribe URL percent-encodes them. Strict about names: Compile refuses a
// template that refers to a field the audience does not have (naming the
// template, its line and the known columns), so a typo is a preflight error,
// never an empty string at send time. No I/O.
//
// Not thread-safe (kainjow's renderer keeps per-render state): give each
// thread its own copy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/campaign.h"
#include "model/recipient.h"

namespace sealmail {

struct RenderedContent {
  std::string subject;  // one line: a line break or control character is refused
  std::string to_name;  // display name for To (one line), empty when not configured
  std::string text;
  std::string html;             // empty when the campaign has no HTML part
  std::string unsubscribe_url;  // empty when not configured
};

class TemplateRenderer {
 public:
  // columns: the audience's merge-field names; "email" is always available.
  static Result<TemplateRenderer> Compile(const Campaign& campaign,
                                          const std::vector<std::string>& columns);

  TemplateRenderer(TemplateRenderer&&) noexcept;
  TemplateRenderer& operator=(TemplateRenderer&&) noexcept;
  TemplateRenderer(const TemplateRenderer&);
  ~TemplateRenderer();

  // Renders everything for one recipient. Fails (kInvalid) when a merge value
  // would break the subject's single line, naming the CSV line and field.
  Status Render(const Recipient& r, RenderedContent* out);

  // True when every template is text and plain variables only, rendered
  // without kainjow (see template_renderer.cc); for tests.
  bool IsFlat() const;

 private:
  struct Impl;
  explicit TemplateRenderer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sealmail
