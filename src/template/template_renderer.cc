#include "template/template_renderer.h"

#include <kainjow/mustache.hpp>
#include <set>

namespace sealmail {
namespace {

namespace mu = kainjow::mustache;

std::string Identity(const std::string& s) { return s; }

std::string PercentEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A context that resolves names like kainjow's own, and records every name it
// could not resolve. Used once per template at compile time.
class RecordingContext : public mu::basic_context<std::string> {
 public:
  explicit RecordingContext(const mu::data* root) { items_.push_back(root); }
  void push(const mu::data* d) override { items_.insert(items_.begin(), d); }
  void pop() override { items_.erase(items_.begin()); }
  const mu::data* get(const std::string& name) const override {
    if (name == ".") return items_.front();
    for (const auto* item : items_) {
      if (const mu::data* v = item->get(name)) return v;
    }
    missing_.insert(name);
    return nullptr;
  }
  const mu::data* get_partial(const std::string& name) const override {
    partials_.insert(name);
    return nullptr;
  }
  std::set<std::string>& missing() const { return missing_; }
  std::set<std::string>& partials() const { return partials_; }

 private:
  std::vector<const mu::data*> items_;
  mutable std::set<std::string> missing_;
  mutable std::set<std::string> partials_;
};

// 1-based line of the first tag that names `name` in the default delimiters,
// or 0 when it cannot be found (e.g. custom delimiters).
int LineOfTag(const std::string& src, const std::string& name) {
  size_t pos = 0;
  while ((pos = src.find("{{", pos)) != std::string::npos) {
    size_t end = src.find("}}", pos + 2);
    if (end == std::string::npos) break;
    std::string tag = src.substr(pos + 2, end - pos - 2);
    size_t b = tag.find_first_not_of(" \t{&#^/>");
    size_t e = tag.find_last_not_of(" \t}");
    if (b != std::string::npos && e >= b && tag.substr(b, e - b + 1) == name) {
      return 1 + static_cast<int>(std::count(src.begin(), src.begin() + pos, '\n'));
    }
    pos = end + 2;
  }
  return 0;
}

std::string Where(const std::string& label, int line) {
  return line > 0 ? label + ":" + std::to_string(line) : label;
}

struct Compiled {
  std::string label;   // "body.txt", "[message] subject", ...
  std::string source;
  std::unique_ptr<mu::mustache> tmpl;
  std::set<std::string> names;  // every field name this template uses
};

Status CompileOne(const std::string& label, const std::string& source,
                  const std::vector<std::string>& columns, mu::mustache::escape_handler escape,
                  Compiled* out) {
  out->label = label;
  out->source = source;
  out->tmpl = std::make_unique<mu::mustache>(source);
  if (!out->tmpl->is_valid()) {
    return Status::Invalid(label + ": not a valid Mustache template: " +
                           out->tmpl->error_message());
  }
  if (escape) out->tmpl->set_custom_escape(escape);
  // Render twice against placeholder data: once with every field non-empty
  // (so {{#section}} bodies are visited) and once with every field false (so
  // {{^inverted}} bodies are visited). Every lookup is recorded.
  std::set<std::string> missing;
  for (int pass = 0; pass < 2; ++pass) {
    mu::data d;
    d.set("email", pass == 0 ? mu::data("x@example.com") : mu::data(false));
    for (const auto& c : columns) d.set(c, pass == 0 ? mu::data("x") : mu::data(false));
    RecordingContext ctx(&d);
    mu::mustache copy(source);
    copy.render(ctx);
    if (!ctx.partials().empty()) {
      const std::string& p = *ctx.partials().begin();
      return Status::Invalid(Where(label, LineOfTag(source, p)) + ": {{> " + p +
                             "}}: partials are not supported; put the text in the template");
    }
    missing.insert(ctx.missing().begin(), ctx.missing().end());
  }
  if (!missing.empty()) {
    std::string known = "email";
    for (const auto& c : columns) known += ", " + c;
    std::string msg;
    for (const auto& m : missing) {
      if (!msg.empty()) msg += "\n";
      msg += Where(label, LineOfTag(source, m)) + ": {{" + m +
             "}} is not a column of the audience (columns: " + known + ")";
    }
    return Status::Invalid(msg);
  }
  // Names used = columns the template touches (for error attribution).
  for (const auto& c : columns) {
    if (LineOfTag(source, c) > 0) out->names.insert(c);
  }
  return Status::Ok();
}

}  // namespace

struct TemplateRenderer::Impl {
  Compiled subject, to_name, text, html, unsub;
  bool has_html = false;
  bool has_unsub = false;
  bool has_to_name = false;
  std::vector<std::string> columns;

  Impl() = default;
  Impl(const Impl& o)
      : has_html(o.has_html), has_unsub(o.has_unsub), has_to_name(o.has_to_name),
        columns(o.columns) {
    auto copy = [](const Compiled& from, Compiled* to, mu::mustache::escape_handler esc) {
      to->label = from.label;
      to->source = from.source;
      to->names = from.names;
      if (from.tmpl) {
        to->tmpl = std::make_unique<mu::mustache>(from.source);
        if (esc) to->tmpl->set_custom_escape(esc);
      }
    };
    copy(o.subject, &subject, Identity);
    copy(o.to_name, &to_name, Identity);
    copy(o.text, &text, Identity);
    copy(o.html, &html, nullptr);
    copy(o.unsub, &unsub, PercentEncode);
  }
};

TemplateRenderer::TemplateRenderer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TemplateRenderer::TemplateRenderer(TemplateRenderer&&) noexcept = default;
TemplateRenderer& TemplateRenderer::operator=(TemplateRenderer&&) noexcept = default;
TemplateRenderer::TemplateRenderer(const TemplateRenderer& o)
    : impl_(std::make_unique<Impl>(*o.impl_)) {}
TemplateRenderer::~TemplateRenderer() = default;

Result<TemplateRenderer> TemplateRenderer::Compile(const Campaign& c,
                                                   const std::vector<std::string>& columns) {
  auto impl = std::make_unique<Impl>();
  impl->columns = columns;
  auto base = [](const std::string& p) {
    auto s = p.find_last_of('/');
    return s == std::string::npos ? p : p.substr(s + 1);
  };
  if (c.message.subject.find_first_of("\r\n") != std::string::npos) {
    return Status::Invalid(c.file + ": [message] subject: must be one line");
  }
  if (c.message.to_name.find_first_of("\r\n") != std::string::npos) {
    return Status::Invalid(c.file + ": [message] to_name: must be one line");
  }
  std::string errors;
  auto collect = [&errors](Status s) {
    if (!s.ok()) errors += (errors.empty() ? "" : "\n") + s.message();
  };
  collect(CompileOne(c.file + " [message] subject", c.message.subject, columns, Identity,
                     &impl->subject));
  if (!c.message.to_name.empty()) {
    impl->has_to_name = true;
    collect(CompileOne(c.file + " [message] to_name", c.message.to_name, columns, Identity,
                       &impl->to_name));
  }
  collect(CompileOne(base(c.message.text_path), c.message.text_template, columns, Identity,
                     &impl->text));
  if (!c.message.html_path.empty()) {
    impl->has_html = true;
    collect(CompileOne(base(c.message.html_path), c.message.html_template, columns, nullptr,
                       &impl->html));
  }
  if (!c.message.unsubscribe_url.empty()) {
    impl->has_unsub = true;
    collect(CompileOne(c.file + " [message] unsubscribe_url", c.message.unsubscribe_url, columns,
                       PercentEncode, &impl->unsub));
  }
  if (!errors.empty()) return Status::Invalid(errors);
  return TemplateRenderer(std::move(impl));
}

namespace {

// A header value must stay one line: refuse control characters, naming the
// field that brought them in.
Status CheckOneLine(const Recipient& r, const std::string& value, const Compiled& from,
                    std::string_view what_header) {
  for (unsigned char ch : value) {
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
      std::string field = "a merge value";
      for (const auto& name : from.names) {
        const std::string* v = r.Field(name);
        if (v == nullptr) continue;
        for (unsigned char vc : *v) {
          if ((vc < 0x20 && vc != '\t') || vc == 0x7f) field = "field \"" + name + "\"";
        }
      }
      const char* what = (ch == '\r' || ch == '\n') ? "a line break" : "a control character";
      return Status::Invalid("line " + std::to_string(r.line) + ": " + field + " puts " + what +
                             " into the " + std::string(what_header) +
                             " (a header must be one line)");
    }
  }
  return Status::Ok();
}

}  // namespace

Status TemplateRenderer::Render(const Recipient& r, RenderedContent* out) {
  mu::data d;
  d.set("email", r.email);
  for (const auto& [k, v] : r.fields) d.set(k, v);
  out->subject = impl_->subject.tmpl->render(d);
  SM_RETURN_IF_ERROR(CheckOneLine(r, out->subject, impl_->subject, "subject"));
  out->to_name = impl_->has_to_name ? impl_->to_name.tmpl->render(d) : std::string();
  SM_RETURN_IF_ERROR(CheckOneLine(r, out->to_name, impl_->to_name, "To display name"));
  out->text = impl_->text.tmpl->render(d);
  out->html = impl_->has_html ? impl_->html.tmpl->render(d) : std::string();
  out->unsubscribe_url = impl_->has_unsub ? impl_->unsub.tmpl->render(d) : std::string();
  return Status::Ok();
}

}  // namespace sealmail
