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

// How a template's escaped variables ({{name}}) are written; {{{name}}} and
// {{& name}} are always written as they are.
enum class Escape { kNone, kHtml, kPercent };

void AppendEscaped(Escape e, std::string_view v, std::string* out) {
  switch (e) {
    case Escape::kNone:
      out->append(v);
      return;
    case Escape::kHtml:
      // The same five characters as kainjow's html_escape.
      for (char ch : v) {
        switch (ch) {
          case '&': *out += "&amp;"; break;
          case '<': *out += "&lt;"; break;
          case '>': *out += "&gt;"; break;
          case '"': *out += "&quot;"; break;
          case '\'': *out += "&apos;"; break;
          default: *out += ch; break;
        }
      }
      return;
    case Escape::kPercent:
      *out += PercentEncode(std::string(v));
      return;
  }
}

mu::mustache::escape_handler EscapeHandler(Escape e) {
  switch (e) {
    case Escape::kNone: return Identity;
    case Escape::kHtml: return nullptr;  // kainjow's default
    case Escape::kPercent: return PercentEncode;
  }
  return nullptr;
}

// A template made only of text and variables (no sections, comments,
// partials or delimiter changes) renders the same for every recipient up to
// the values: it is kept as a list of pieces and rendered without kainjow
// (whose per-render std::function walk and string copies led the send
// loop's profile).
struct FlatPiece {
  std::string text;   // literal text before the value
  int field = -1;     // -1: none (the tail); 0: email; k: columns[k - 1]
  bool escaped = false;
};

struct Compiled {
  std::string label;   // "body.txt", "[message] subject", ...
  std::string source;
  Escape escape = Escape::kNone;
  std::unique_ptr<mu::mustache> tmpl;
  std::set<std::string> names;  // every field name this template uses
  std::vector<FlatPiece> flat;  // when is_flat
  bool is_flat = false;
};

// True when every tag of source (default delimiters) is a plain variable:
// {{name}}, {{{name}}} or {{& name}}, with no dotted name. Walks the tags in
// the order kainjow's parser does. Conservative: anything else is "no", and
// the template is rendered by kainjow.
bool OnlyVariables(const std::string& source) {
  if (source.find_first_of(std::string_view("\x01\x02\x03", 3)) != std::string::npos) {
    return false;  // the bytes FlattenTemplate uses as markers
  }
  size_t pos = 0;
  while ((pos = source.find("{{", pos)) != std::string::npos) {
    bool triple = pos + 2 < source.size() && source[pos + 2] == '{';
    size_t begin = pos + (triple ? 3 : 2);
    size_t end = source.find(triple ? "}}}" : "}}", begin);
    if (end == std::string::npos) return false;
    std::string_view tag(source.data() + begin, end - begin);
    size_t b = tag.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return false;
    tag.remove_prefix(b);
    if (!triple && tag.front() == '&') tag.remove_prefix(1);
    else if (std::string_view("#^/=>!{}").find(tag.front()) != std::string_view::npos) return false;
    if (tag.find_first_of(".{}") != std::string_view::npos) return false;
    pos = end + (triple ? 3 : 2);
  }
  return true;
}

// Renders source once through kainjow with marker values ("\x01k\x02" for
// field k) and an escape that turns a marker's end into \x03: the output,
// cut at the markers, is the template's flat form, as kainjow itself parsed
// it. False when the output is not what a flat template gives.
bool FlattenTemplate(const std::string& source, const std::vector<std::string>& columns,
                     std::vector<FlatPiece>* pieces) {
  if (!OnlyVariables(source)) return false;
  auto marker = [](size_t k) { return "\x01" + std::to_string(k) + "\x02"; };
  mu::data d;
  d.set("email", marker(0));
  for (size_t i = 0; i < columns.size(); ++i) d.set(columns[i], marker(i + 1));
  mu::mustache t(source);
  t.set_custom_escape([](const std::string& v) {
    std::string out = v;
    for (char& ch : out) {
      if (ch == '\x02') ch = '\x03';
    }
    return out;
  });
  std::string out = t.render(d);
  if (!t.is_valid()) return false;
  pieces->clear();
  FlatPiece piece;
  size_t i = 0;
  while (i < out.size()) {
    size_t m = out.find('\x01', i);
    if (m == std::string::npos) {
      piece.text.append(out, i, std::string::npos);
      break;
    }
    piece.text.append(out, i, m - i);
    size_t e = out.find_first_of(std::string_view("\x02\x03", 2), m + 1);
    if (e == std::string::npos || e == m + 1 || e - m > 12) return false;
    size_t k = 0;
    for (size_t j = m + 1; j < e; ++j) {
      if (out[j] < '0' || out[j] > '9') return false;
      k = k * 10 + static_cast<size_t>(out[j] - '0');
    }
    if (k > columns.size()) return false;
    piece.field = static_cast<int>(k);
    piece.escaped = out[e] == '\x03';
    pieces->push_back(std::move(piece));
    piece = FlatPiece();
    i = e + 1;
  }
  if (piece.text.find_first_of(std::string_view("\x01\x02\x03", 3)) != std::string::npos) {
    return false;
  }
  pieces->push_back(std::move(piece));
  return true;
}

Status CompileOne(const std::string& label, const std::string& source,
                  const std::vector<std::string>& columns, Escape escape, Compiled* out) {
  out->label = label;
  out->source = source;
  out->escape = escape;
  out->tmpl = std::make_unique<mu::mustache>(source);
  if (!out->tmpl->is_valid()) {
    return Status::Invalid(label + ": not a valid Mustache template: " +
                           out->tmpl->error_message());
  }
  if (auto h = EscapeHandler(escape)) out->tmpl->set_custom_escape(h);
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
  out->is_flat = FlattenTemplate(source, columns, &out->flat);
  return Status::Ok();
}

// Renders one compiled template for r into *out.
void RenderOne(Compiled& c, const Recipient& r, const std::vector<std::string>& columns,
               const mu::data* d, std::string* out) {
  if (!c.is_flat) {
    *out = c.tmpl->render(*d);
    return;
  }
  out->clear();
  for (const FlatPiece& p : c.flat) {
    out->append(p.text);
    if (p.field < 0) continue;
    const std::string* v = &r.email;
    if (p.field > 0) {
      size_t i = static_cast<size_t>(p.field - 1);
      v = i < r.fields.size() && r.fields[i].first == columns[i] ? &r.fields[i].second
                                                                  : r.Field(columns[i]);
      if (v == nullptr) continue;  // as kainjow: an unknown name renders nothing
    }
    if (p.escaped) AppendEscaped(c.escape, *v, out);
    else out->append(*v);
  }
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
    auto copy = [](const Compiled& from, Compiled* to) {
      to->label = from.label;
      to->source = from.source;
      to->escape = from.escape;
      to->names = from.names;
      to->flat = from.flat;
      to->is_flat = from.is_flat;
      if (from.tmpl) {
        to->tmpl = std::make_unique<mu::mustache>(from.source);
        if (auto h = EscapeHandler(from.escape)) to->tmpl->set_custom_escape(h);
      }
    };
    copy(o.subject, &subject);
    copy(o.to_name, &to_name);
    copy(o.text, &text);
    copy(o.html, &html);
    copy(o.unsub, &unsub);
  }

  // True when some template needs kainjow (and so the data object).
  bool NeedsData() const {
    return !subject.is_flat || (has_to_name && !to_name.is_flat) || !text.is_flat ||
           (has_html && !html.is_flat) || (has_unsub && !unsub.is_flat);
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
  collect(CompileOne(c.file + " [message] subject", c.message.subject, columns, Escape::kNone,
                     &impl->subject));
  if (!c.message.to_name.empty()) {
    impl->has_to_name = true;
    collect(CompileOne(c.file + " [message] to_name", c.message.to_name, columns, Escape::kNone,
                       &impl->to_name));
  }
  collect(CompileOne(base(c.message.text_path), c.message.text_template, columns, Escape::kNone,
                     &impl->text));
  if (!c.message.html_path.empty()) {
    impl->has_html = true;
    collect(CompileOne(base(c.message.html_path), c.message.html_template, columns, Escape::kHtml,
                       &impl->html));
  }
  if (!c.message.unsubscribe_url.empty()) {
    impl->has_unsub = true;
    collect(CompileOne(c.file + " [message] unsubscribe_url", c.message.unsubscribe_url, columns,
                       Escape::kPercent, &impl->unsub));
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

bool TemplateRenderer::IsFlat() const { return !impl_->NeedsData(); }

Status TemplateRenderer::Render(const Recipient& r, RenderedContent* out) {
  Impl& m = *impl_;
  mu::data d;
  if (m.NeedsData()) {
    d.set("email", r.email);
    for (const auto& [k, v] : r.fields) d.set(k, v);
  }
  RenderOne(m.subject, r, m.columns, &d, &out->subject);
  SM_RETURN_IF_ERROR(CheckOneLine(r, out->subject, m.subject, "subject"));
  out->to_name.clear();
  if (m.has_to_name) RenderOne(m.to_name, r, m.columns, &d, &out->to_name);
  SM_RETURN_IF_ERROR(CheckOneLine(r, out->to_name, m.to_name, "To display name"));
  RenderOne(m.text, r, m.columns, &d, &out->text);
  out->html.clear();
  if (m.has_html) RenderOne(m.html, r, m.columns, &d, &out->html);
  out->unsubscribe_url.clear();
  if (m.has_unsub) RenderOne(m.unsub, r, m.columns, &d, &out->unsubscribe_url);
  return Status::Ok();
}

}  // namespace sealmail
