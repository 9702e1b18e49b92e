// Campaign: the immutable, validated contents of a campaign directory's
// campaign.toml (SPEC.md), plus the template sources it names.
//
// LoadCampaign is the only way to make one; every value in it has been checked,
// so later components do not validate configuration again. Relative paths in
// the file are resolved against the campaign directory, never the current
// working directory.
//
// Immutable after construction; safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "address/address.h"
#include "base/status.h"

namespace sealmail {

struct DomainLimits {
  std::string domain;  // lower-case A-label
  double rate = 0;     // messages per second, 0 = no limit
  int concurrency = 0; // connections, 0 = the global setting
};

struct TransportConfig {
  enum class Kind { kSmtp, kSmtps, kMx, kDir, kDiscard };
  Kind kind = Kind::kDir;
  std::string url;       // as written
  std::string host;      // smtp/smtps
  int port = 0;          // smtp/smtps
  bool tls_required = false;
  std::string dir_path;  // dir: resolved absolute path
  std::string username;
  std::string password_env;  // name of the environment variable; never the secret
  std::string ca_file;       // resolved path, or empty
  int concurrency = 8;
  double rate = 0;
  int64_t retry_interval_seconds = 60;
  int64_t max_age_seconds = 3 * 86400;
  int max_attempts = 0;  // give up after this many attempts; 0 = only max_age bounds retries
  int64_t timeout_ms = 0;  // caps every SMTP timeout ([transport] timeout); 0 = RFC 5321's own
  std::vector<DomainLimits> domains;
};

struct DkimConfig {
  std::string domain;
  std::string selector;
  std::string key_path;  // resolved
  std::string algorithm; // "rsa-sha256" or "ed25519-sha256"
  std::string canonicalization = "relaxed/relaxed";  // or "simple/simple", ...
  std::string identity;  // optional i= ("@example.com"); checked by src/dkim
};

struct MessageConfig {
  Mailbox from;
  std::optional<Mailbox> reply_to;
  std::string subject;        // Mustache template source
  std::string to_name;        // optional Mustache template for the To display name
  std::string text_path;      // resolved
  std::string text_template;  // contents of text_path
  std::string html_path;      // resolved, empty when there is no HTML part
  std::string html_template;
  // List-Unsubscribe (RFC 2369, RFC 8058). mailto is always present: the
  // configured address, else the From address. url is an optional https
  // Mustache template (values are percent-encoded when rendered).
  std::string unsubscribe_mailto;
  std::string unsubscribe_url;
};

struct Campaign {
  std::string dir;   // campaign directory, absolute
  std::string file;  // campaign.toml path as shown in messages
  std::string name;
  MessageConfig message;
  std::string audience_csv;  // resolved path
  TransportConfig transport;
  std::optional<DkimConfig> dkim;
};

// Reads DIR/campaign.toml and the templates it names. Errors name the file,
// line, key and what was expected, e.g.
//   "announce/campaign.toml:7: [message] subject: expected a string, got an integer".
Result<Campaign> LoadCampaign(const std::string& dir);

// Parses "90s", "15m", "2h", "3d" (or a bare number of seconds).
Result<int64_t> ParseDuration(std::string_view text);

}  // namespace sealmail
