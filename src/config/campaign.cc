#include "config/campaign.h"

#include <charconv>
#include <filesystem>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "base/file.h"
#include "base/utf8.h"

namespace sealmail {
namespace {

std::string_view TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    default: return "nothing";
  }
}

// Reads one table of campaign.toml, remembering which keys were consumed so
// that everything else can be reported as unknown (a typo must not be ignored).
class Reader {
 public:
  Reader(std::string file, std::string section, const toml::table* table)
      : file_(std::move(file)), section_(std::move(section)), table_(table) {}

  Status Error(const toml::node* at, std::string_view key, std::string_view what) const {
    std::ostringstream os;
    os << file_;
    if (at != nullptr && at->source().begin.line > 0) os << ":" << at->source().begin.line;
    else if (table_ != nullptr && table_->source().begin.line > 0) os << ":" << table_->source().begin.line;
    os << ": ";
    if (!section_.empty()) os << "[" << section_ << "] ";
    os << key << ": " << what;
    return Status::Invalid(os.str());
  }

  const toml::node* Get(std::string_view key) {
    seen_.insert(std::string(key));
    return table_ == nullptr ? nullptr : table_->get(key);
  }

  Result<std::optional<std::string>> OptString(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::optional<std::string>();
    if (!n->is_string()) {
      return Error(n, key, "expected a string, got " + std::string(TypeName(*n)));
    }
    std::string v = n->as_string()->get();
    if (!IsValidUtf8(v)) return Error(n, key, "not valid UTF-8");
    return std::optional<std::string>(std::move(v));
  }

  Result<std::string> String(std::string_view key, std::string_view example) {
    SM_ASSIGN_OR_RETURN(auto v, OptString(key));
    if (!v) {
      return Error(nullptr, key,
                   "missing (required), e.g. " + std::string(key) + " = " + std::string(example));
    }
    if (v->empty()) return Error(Get(key), key, "must not be empty");
    return *v;
  }

  Result<std::optional<int64_t>> OptInt(std::string_view key, int64_t min, int64_t max) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::optional<int64_t>();
    if (!n->is_integer()) {
      return Error(n, key, "expected an integer, got " + std::string(TypeName(*n)));
    }
    int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      return Error(n, key,
                   "expected an integer from " + std::to_string(min) + " to " +
                       std::to_string(max) + ", got " + std::to_string(v));
    }
    return std::optional<int64_t>(v);
  }

  Result<std::optional<double>> OptNumber(std::string_view key, double min, double max) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::optional<double>();
    double v;
    if (n->is_integer()) v = static_cast<double>(n->as_integer()->get());
    else if (n->is_floating_point()) v = n->as_floating_point()->get();
    else return Error(n, key, "expected a number, got " + std::string(TypeName(*n)));
    if (!(v >= min && v <= max)) {
      std::ostringstream os;
      os << "expected a number from " << min << " to " << max << ", got " << v;
      return Error(n, key, os.str());
    }
    return std::optional<double>(v);
  }

  Result<std::optional<int64_t>> OptDuration(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::optional<int64_t>();
    if (n->is_integer()) {
      if (n->as_integer()->get() <= 0) return Error(n, key, "must be positive");
      return std::optional<int64_t>(n->as_integer()->get());
    }
    if (!n->is_string()) {
      return Error(n, key, "expected a duration like \"60s\", \"15m\", \"2h\" or \"3d\", got " +
                               std::string(TypeName(*n)));
    }
    auto d = ParseDuration(n->as_string()->get());
    if (!d.ok()) return Error(n, key, d.status().message());
    return std::optional<int64_t>(*d);
  }

  // Every key of the table that no one asked for is an error.
  Status CheckUnknown(std::initializer_list<std::string_view> subtables = {}) const {
    if (table_ == nullptr) return Status::Ok();
    for (const auto& [k, v] : *table_) {
      std::string key(k.str());
      if (seen_.count(key)) continue;
      bool sub = false;
      for (auto s : subtables) sub |= (s == key);
      if (sub) continue;
      std::string expected;
      for (const auto& s : seen_) expected += (expected.empty() ? "" : ", ") + s;
      for (auto s : subtables) expected += (expected.empty() ? "[" : ", [") + std::string(s) + "]";
      const toml::node* at = &v;
      std::ostringstream os;
      os << file_;
      if (k.source().begin.line > 0) os << ":" << k.source().begin.line;
      else if (at->source().begin.line > 0) os << ":" << at->source().begin.line;
      os << ": unknown key ";
      if (!section_.empty()) os << "[" << section_ << "] ";
      os << key << " (known keys here: " << expected << ")";
      return Status::Invalid(os.str());
    }
    return Status::Ok();
  }

  // Refuses keys outside `known` before anything else is read, so that a
  // typo ("subjet") is reported as such, not as a missing "subject".
  Status Expect(std::initializer_list<std::string_view> known) {
    for (auto k : known) seen_.insert(std::string(k));
    Status s = CheckUnknown();
    seen_.clear();
    return s;
  }

  const toml::table* table() const { return table_; }

 private:
  std::string file_;
  std::string section_;
  const toml::table* table_;
  std::set<std::string> seen_;
};

Result<const toml::table*> SubTable(Reader& parent, const std::string& file, std::string_view key,
                                    bool required) {
  const toml::node* n = parent.Get(key);
  if (n == nullptr) {
    if (required) {
      return Status::Invalid(file + ": missing table [" + std::string(key) + "] (required)");
    }
    return static_cast<const toml::table*>(nullptr);
  }
  if (!n->is_table()) {
    return parent.Error(n, key, "expected a table [" + std::string(key) + "], got " +
                                    std::string(TypeName(*n)));
  }
  return n->as_table();
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 100) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> LoadTemplateFile(Reader& r, const std::string& dir, std::string_view key,
                                     const std::string& rel, std::string* resolved) {
  *resolved = ResolvePath(dir, rel);
  auto data = ReadFile(*resolved);
  if (!data.ok()) return r.Error(r.Get(key), key, data.status().message());
  size_t bad = FirstInvalidUtf8(*data);
  if (bad != data->size()) {
    return r.Error(r.Get(key), key,
                   rel + ": not valid UTF-8 at byte offset " + std::to_string(bad) +
                       " (templates must be UTF-8)");
  }
  if (data->size() >= 3 && data->compare(0, 3, "\xEF\xBB\xBF") == 0) data->erase(0, 3);
  return std::move(data).value();
}

Status ParseTransportUrl(Reader& r, const std::string& dir, const std::string& url,
                         TransportConfig* t) {
  t->url = url;
  auto bad = [&](std::string_view why) {
    return r.Error(r.Get("url"), "url",
                   std::string(why) +
                       " (expected smtp://HOST:PORT, smtps://HOST:PORT, mx: or dir:PATH)");
  };
  if (url.rfind("dir:", 0) == 0) {
    std::string p = url.substr(4);
    if (p.empty()) return bad("dir: needs a path");
    t->kind = TransportConfig::Kind::kDir;
    t->dir_path = ResolvePath(dir, p);
    return Status::Ok();
  }
  if (url == "discard:") {  // benchmarks and dry runs: every message is thrown away
    t->kind = TransportConfig::Kind::kDiscard;
    return Status::Ok();
  }
  if (url == "mx:") {
    t->kind = TransportConfig::Kind::kMx;
    return Status::Ok();
  }
  std::string rest;
  if (url.rfind("smtp://", 0) == 0) {
    t->kind = TransportConfig::Kind::kSmtp;
    t->port = 25;
    rest = url.substr(7);
  } else if (url.rfind("smtps://", 0) == 0) {
    t->kind = TransportConfig::Kind::kSmtps;
    t->port = 465;
    rest = url.substr(8);
  } else {
    return bad("unknown scheme in \"" + url + "\"");
  }
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('@') != std::string::npos) {
    return bad("credentials do not belong in the URL; use username and password_env");
  }
  std::string host = rest;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return bad("unclosed '[' in host");
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return bad("unexpected text after ']'");
    if (!rest.empty()) rest = rest.substr(1);
    else rest.clear();
    if (!rest.empty()) {
      int port = 0;
      auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
      if (ec != std::errc() || p != rest.data() + rest.size() || port < 1 || port > 65535) {
        return bad("bad port \"" + rest + "\"");
      }
      t->port = port;
    }
  } else if (auto c = rest.rfind(':'); c != std::string::npos) {
    host = rest.substr(0, c);
    std::string ps = rest.substr(c + 1);
    int port = 0;
    auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
    if (ec != std::errc() || p != ps.data() + ps.size() || port < 1 || port > 65535) {
      return bad("bad port \"" + ps + "\"");
    }
    t->port = port;
  }
  if (host.empty()) return bad("missing host");
  t->host = host;
  if (!query.empty()) {
    if (query == "tls=required") {
      t->tls_required = true;
    } else if (query != "tls=opportunistic") {
      return bad("unknown option \"" + query + "\" (known: tls=required)");
    }
  }
  return Status::Ok();
}

Status LoadMessage(Reader& root, const std::string& file, const std::string& dir,
                   MessageConfig* m) {
  SM_ASSIGN_OR_RETURN(const toml::table* tbl, SubTable(root, file, "message", true));
  Reader r(file, "message", tbl);
  SM_RETURN_IF_ERROR(r.Expect({"from", "reply_to", "subject", "to_name", "text", "html",
                               "unsubscribe_mailto", "unsubscribe_url"}));
  SM_ASSIGN_OR_RETURN(std::string from, r.String("from", "\"Example <news@example.com>\""));
  auto mb = ParseMailbox(from);
  if (!mb.ok()) return r.Error(r.Get("from"), "from", mb.status().message());
  m->from = std::move(mb).value();
  SM_ASSIGN_OR_RETURN(auto reply_to, r.OptString("reply_to"));
  if (reply_to) {
    auto rt = ParseMailbox(*reply_to);
    if (!rt.ok()) return r.Error(r.Get("reply_to"), "reply_to", rt.status().message());
    m->reply_to = std::move(rt).value();
  }
  SM_ASSIGN_OR_RETURN(m->subject, r.String("subject", "\"News for {{first_name}}\""));
  SM_ASSIGN_OR_RETURN(auto to_name, r.OptString("to_name"));
  m->to_name = to_name.value_or("");
  SM_ASSIGN_OR_RETURN(std::string text, r.String("text", "\"body.txt\""));
  SM_ASSIGN_OR_RETURN(m->text_template, LoadTemplateFile(r, dir, "text", text, &m->text_path));
  SM_ASSIGN_OR_RETURN(auto html, r.OptString("html"));
  if (html) {
    SM_ASSIGN_OR_RETURN(m->html_template, LoadTemplateFile(r, dir, "html", *html, &m->html_path));
  }
  SM_ASSIGN_OR_RETURN(auto unsub, r.OptString("unsubscribe_mailto"));
  if (unsub) {
    std::string addr = *unsub;
    if (addr.rfind("mailto:", 0) == 0) addr = addr.substr(7);
    auto a = ParseAddress(addr);
    if (!a.ok()) {
      return r.Error(r.Get("unsubscribe_mailto"), "unsubscribe_mailto", a.status().message());
    }
    m->unsubscribe_mailto = a->ToString();
  } else {
    m->unsubscribe_mailto = m->from.address.ToString();
  }
  SM_ASSIGN_OR_RETURN(auto url, r.OptString("unsubscribe_url"));
  if (url) {
    if (url->rfind("https://", 0) != 0) {
      return r.Error(r.Get("unsubscribe_url"), "unsubscribe_url",
                     "must start with https:// (RFC 8058 one-click unsubscribe needs HTTPS)");
    }
    for (unsigned char c : *url) {
      if (c <= 0x20 || c == '<' || c == '>' || c == '"' || c >= 0x7f) {
        return r.Error(r.Get("unsubscribe_url"), "unsubscribe_url",
                       "contains a space, quote, angle bracket or non-ASCII character");
      }
    }
    m->unsubscribe_url = *url;
  }
  return r.CheckUnknown();
}

Status LoadTransport(Reader& root, const std::string& file, const std::string& dir,
                     TransportConfig* t) {
  SM_ASSIGN_OR_RETURN(const toml::table* tbl, SubTable(root, file, "transport", false));
  Reader r(file, "transport", tbl);
  SM_RETURN_IF_ERROR(r.Expect({"url", "username", "password_env", "ca_file", "concurrency",
                               "rate", "retry_interval", "max_age", "max_attempts", "timeout", "domains"}));
  SM_ASSIGN_OR_RETURN(auto url, r.OptString("url"));
  SM_RETURN_IF_ERROR(ParseTransportUrl(r, dir, url.value_or("dir:out"), t));
  SM_ASSIGN_OR_RETURN(auto user, r.OptString("username"));
  t->username = user.value_or("");
  SM_ASSIGN_OR_RETURN(auto penv, r.OptString("password_env"));
  if (penv) {
    for (char c : *penv) {
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_')) {
        return r.Error(r.Get("password_env"), "password_env",
                       "expected the NAME of an environment variable (letters, digits, _); "
                       "secrets never go in campaign.toml");
      }
    }
    t->password_env = *penv;
  }
  if (t->username.empty() != t->password_env.empty()) {
    return r.Error(r.Get(t->username.empty() ? "password_env" : "username"),
                   t->username.empty() ? "username" : "password_env",
                   "username and password_env go together");
  }
  SM_ASSIGN_OR_RETURN(auto ca, r.OptString("ca_file"));
  if (ca) {
    t->ca_file = ResolvePath(dir, *ca);
    if (!std::filesystem::exists(t->ca_file)) {
      return r.Error(r.Get("ca_file"), "ca_file", t->ca_file + ": no such file");
    }
  }
  SM_ASSIGN_OR_RETURN(auto conc, r.OptInt("concurrency", 1, 1000));
  t->concurrency = static_cast<int>(conc.value_or(8));
  SM_ASSIGN_OR_RETURN(auto rate, r.OptNumber("rate", 0, 1e7));
  t->rate = rate.value_or(0);
  SM_ASSIGN_OR_RETURN(auto retry, r.OptDuration("retry_interval"));
  t->retry_interval_seconds = retry.value_or(60);
  SM_ASSIGN_OR_RETURN(auto max_age, r.OptDuration("max_age"));
  t->max_age_seconds = max_age.value_or(3 * 86400);
  // A cap on every RFC 5321 timeout (§4.5.3.2: up to 10 minutes), so a hung
  // server costs seconds instead of minutes.
  SM_ASSIGN_OR_RETURN(auto timeout, r.OptDuration("timeout"));
  if (timeout) {
    if (*timeout > 600) {
      return r.Error(r.Get("timeout"), "timeout",
                     "expected at most \"10m\" (the longest RFC 5321 timeout), got " +
                         std::to_string(*timeout) + "s");
    }
    t->timeout_ms = *timeout * 1000;
  }
  if (t->kind == TransportConfig::Kind::kMx && !t->username.empty()) {
    return r.Error(r.Get("username"), "username",
                   "mx: delivers to each domain's MX hosts, which take no AUTH; "
                   "username/password_env are for a relay (smtp://, smtps://)");
  }
  if (t->kind == TransportConfig::Kind::kMx && !t->ca_file.empty()) {
    return r.Error(r.Get("ca_file"), "ca_file",
                   "mx: uses STARTTLS opportunistically without certificate checks (MX "
                   "certificates rarely match their names); ca_file is for a relay");
  }
  SM_ASSIGN_OR_RETURN(auto attempts, r.OptInt("max_attempts", 0, 1000));
  t->max_attempts = static_cast<int>(attempts.value_or(0));

  SM_ASSIGN_OR_RETURN(const toml::table* domains, SubTable(r, file, "domains", false));
  if (domains != nullptr) {
    for (const auto& [k, v] : *domains) {
      std::string name(k.str());
      auto ascii = DomainToAscii(name);
      if (!ascii.ok()) {
        return r.Error(&v, "domains.\"" + name + "\"", ascii.status().message());
      }
      if (!v.is_table()) {
        return r.Error(&v, "domains.\"" + name + "\"",
                       "expected a table with rate and/or concurrency");
      }
      Reader d(file, "transport.domains.\"" + name + "\"", v.as_table());
      SM_RETURN_IF_ERROR(d.Expect({"rate", "concurrency"}));
      DomainLimits lim;
      lim.domain = *ascii;
      SM_ASSIGN_OR_RETURN(auto drate, d.OptNumber("rate", 0, 1e7));
      lim.rate = drate.value_or(0);
      SM_ASSIGN_OR_RETURN(auto dconc, d.OptInt("concurrency", 1, 1000));
      lim.concurrency = static_cast<int>(dconc.value_or(0));
      SM_RETURN_IF_ERROR(d.CheckUnknown());
      t->domains.push_back(std::move(lim));
    }
  }
  return r.CheckUnknown();
}

Status LoadDkim(Reader& root, const std::string& file, const std::string& dir,
                std::optional<DkimConfig>* out) {
  SM_ASSIGN_OR_RETURN(const toml::table* tbl, SubTable(root, file, "dkim", false));
  if (tbl == nullptr) return Status::Ok();
  Reader r(file, "dkim", tbl);
  SM_RETURN_IF_ERROR(
      r.Expect({"domain", "selector", "key", "algorithm", "canonicalization", "identity"}));
  DkimConfig d;
  SM_ASSIGN_OR_RETURN(std::string domain, r.String("domain", "\"example.com\""));
  auto ascii = DomainToAscii(domain);
  if (!ascii.ok()) return r.Error(r.Get("domain"), "domain", ascii.status().message());
  d.domain = *ascii;
  SM_ASSIGN_OR_RETURN(d.selector, r.String("selector", "\"s2026\""));
  for (char c : d.selector) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return r.Error(r.Get("selector"), "selector", "expected letters, digits, '-', '.'");
  }
  SM_ASSIGN_OR_RETURN(std::string key, r.String("key", "\"dkim-private.pem\""));
  d.key_path = ResolvePath(dir, key);
  if (!std::filesystem::exists(d.key_path)) {
    return r.Error(r.Get("key"), "key", d.key_path + ": no such file");
  }
  SM_ASSIGN_OR_RETURN(auto alg, r.OptString("algorithm"));
  d.algorithm = alg.value_or("rsa-sha256");
  if (d.algorithm != "rsa-sha256" && d.algorithm != "ed25519-sha256") {
    return r.Error(r.Get("algorithm"), "algorithm",
                   "expected \"rsa-sha256\" or \"ed25519-sha256\", got \"" + d.algorithm + "\"");
  }
  SM_ASSIGN_OR_RETURN(auto canon, r.OptString("canonicalization"));
  d.canonicalization = canon.value_or("relaxed/relaxed");
  if (d.canonicalization != "relaxed/relaxed" && d.canonicalization != "simple/simple" &&
      d.canonicalization != "relaxed/simple" && d.canonicalization != "simple/relaxed") {
    return r.Error(r.Get("canonicalization"), "canonicalization",
                   "expected \"relaxed/relaxed\" (the default) or \"simple/simple\", got \"" +
                       d.canonicalization + "\"");
  }
  SM_ASSIGN_OR_RETURN(auto identity, r.OptString("identity"));
  d.identity = identity.value_or("");
  if (!d.identity.empty() && d.identity.find('@') == std::string::npos) {
    return r.Error(r.Get("identity"), "identity",
                   "expected an address or \"@domain\" within the DKIM domain (the i= tag)");
  }
  SM_RETURN_IF_ERROR(r.CheckUnknown());
  *out = std::move(d);
  return Status::Ok();
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return Status::Invalid("empty duration");
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p == text.data() || n <= 0) {
    return Status::Invalid("expected a duration like \"60s\", \"15m\", \"2h\" or \"3d\", got \"" +
                           std::string(text) + "\"");
  }
  std::string_view unit(p, text.data() + text.size() - p);
  int64_t mult;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "m") mult = 60;
  else if (unit == "h") mult = 3600;
  else if (unit == "d") mult = 86400;
  else {
    return Status::Invalid("unknown duration unit \"" + std::string(unit) +
                           "\" (expected s, m, h or d)");
  }
  if (n > INT64_MAX / mult / 2) return Status::Invalid("duration too large");
  return n * mult;
}

Result<Campaign> LoadCampaign(const std::string& dir_in) {
  std::error_code ec;
  std::filesystem::path dirp = std::filesystem::absolute(dir_in, ec);
  if (ec || !std::filesystem::is_directory(dirp)) {
    return Status::Invalid(dir_in + ": not a campaign directory (expected a directory with campaign.toml)");
  }
  Campaign c;
  c.dir = dirp.lexically_normal().string();
  if (c.dir.size() > 1 && c.dir.back() == '/') c.dir.pop_back();
  std::string shown = (std::filesystem::path(dir_in) / "campaign.toml").lexically_normal().string();
  c.file = shown;
  std::string path = c.dir + "/campaign.toml";
  auto text = ReadFile(path);
  if (!text.ok()) {
    return Status::Invalid(shown + ": cannot read campaign file: " + text.status().message());
  }
  toml::table root;
  try {
    root = toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << shown << ":" << e.source().begin.line << ":" << e.source().begin.column
       << ": not valid TOML: " << e.description();
    return Status::Invalid(os.str());
  }
  Reader r(shown, "", &root);
  SM_RETURN_IF_ERROR(r.Expect({"name", "message", "audience", "transport", "dkim"}));
  SM_ASSIGN_OR_RETURN(c.name, r.String("name", "\"index-change-2026-11\""));
  if (!ValidName(c.name)) {
    return r.Error(r.Get("name"), "name",
                   "expected 1-100 letters, digits, '-', '_' or '.' (it names the campaign in "
                   "Message-IDs and state), got \"" + c.name + "\"");
  }
  SM_RETURN_IF_ERROR(LoadMessage(r, shown, c.dir, &c.message));
  SM_ASSIGN_OR_RETURN(const toml::table* aud, SubTable(r, shown, "audience", true));
  Reader ar(shown, "audience", aud);
  SM_RETURN_IF_ERROR(ar.Expect({"csv"}));
  SM_ASSIGN_OR_RETURN(std::string csv, ar.String("csv", "\"audience.csv\""));
  c.audience_csv = ResolvePath(c.dir, csv);
  if (!std::filesystem::exists(c.audience_csv)) {
    return ar.Error(ar.Get("csv"), "csv", c.audience_csv + ": no such file");
  }
  SM_RETURN_IF_ERROR(ar.CheckUnknown());
  SM_RETURN_IF_ERROR(LoadTransport(r, shown, c.dir, &c.transport));
  SM_RETURN_IF_ERROR(LoadDkim(r, shown, c.dir, &c.dkim));
  SM_RETURN_IF_ERROR(r.CheckUnknown({"message", "audience", "transport", "dkim"}));
  return c;
}

}  // namespace sealmail
