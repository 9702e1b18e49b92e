// SmtpSession: one client connection to one SMTP server (RFC 5321), on asio
// and OpenSSL: greeting, EHLO (HELO fallback), STARTTLS or implicit TLS,
// AUTH PLAIN/LOGIN, then any number of one-recipient transactions with
// PIPELINING (MAIL, RCPT and DATA in one write when offered, and the next
// transaction's behind the current one's data when the caller has it), SIZE,
// 8BITMIME, SMTPUTF8, RSET after a failed transaction, QUIT.
//
// Knows nothing of campaigns: it sends bytes to an envelope and reports what
// the server said, and where, so that bounce/ can classify it.
//
// Every network operation is an asio asynchronous operation with a deadline
// (RFC 5321 §4.5.3.2 timeouts, configurable); the session drives its own
// io_context until the operation completes or the deadline passes, so a
// server that never answers costs at most one timeout.
//
// Secrets: the password is held only in SmtpOptions memory, sent base64 in
// AUTH and never written to any reply text, log or error; AUTH is refused
// without TLS unless the server is on a loopback address.
//
// Thread-safety: none; one session is used by one thread at a time (the
// transport's pool gives each connection to one worker).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "smtp/smtp_reply.h"

namespace sealmail {

struct SmtpTimeouts {
  // RFC 5321 §4.5.3.2 minimums, by default.
  std::chrono::milliseconds connect{std::chrono::seconds(60)};
  std::chrono::milliseconds greeting{std::chrono::minutes(5)};
  std::chrono::milliseconds command{std::chrono::minutes(5)};  // EHLO, MAIL, RCPT, AUTH, RSET, ...
  std::chrono::milliseconds data_init{std::chrono::minutes(2)};
  std::chrono::milliseconds data_block{std::chrono::minutes(3)};
  std::chrono::milliseconds data_term{std::chrono::minutes(10)};
  // All timeouts capped at `cap` (tests); zero means no cap.
  void CapAll(std::chrono::milliseconds cap);
};

struct SmtpOptions {
  std::string host;
  int port = 25;
  bool implicit_tls = false;  // smtps://
  bool tls_required = false;  // smtp://…?tls=required: no STARTTLS → fail
  std::string ca_file;        // extra CA to trust; system CAs otherwise
  bool verify_peer = true;    // certificate chain and host name
  std::string helo_name = "localhost";
  std::string username;       // empty: no AUTH
  std::string password;       // never logged
  SmtpTimeouts timeouts;
};

// A transaction that may follow the current one on the same connection
// (SmtpSession::Send's `next`). The strings must stay valid until that
// transaction's own Send has returned.
struct SmtpEnvelope {
  std::string_view from, rcpt, message;
};
// Fills *e and returns true when there is a next transaction to send now.
using SmtpNextFn = std::function<bool(SmtpEnvelope* e)>;

// Where a conversation stopped. The order is the order of a session.
enum class SmtpStage {
  kConnect,
  kGreeting,
  kEhlo,
  kStartTls,
  kTls,
  kAuth,
  kMail,
  kRcpt,
  kData,     // the reply to DATA (354 expected)
  kDataEnd,  // the reply to the final "." (the message may have been taken)
  kRset,
  kDone,
};
const char* SmtpStageName(SmtpStage s);

// The result of one step or transaction.
struct SmtpResult {
  SmtpStage stage = SmtpStage::kDone;
  bool ok = false;
  // The server's reply, when there was one (code 0: no reply: a network
  // error, timeout or a malformed reply; see error).
  SmtpReply reply;
  std::string error;  // local description when there was no usable reply
  bool connection_lost = false;  // the session is unusable now
  bool policy = false;  // failed closed: TLS required/certificate, AUTH unavailable
  std::string Describe() const;
};

class SmtpSession {
 public:
  explicit SmtpSession(SmtpOptions opts);
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // Connect, greeting, EHLO/HELO, TLS, AUTH. ok=false: the session is closed.
  SmtpResult Open();
  bool is_open() const;
  bool tls_active() const;
  bool pipelining() const;

  // One transaction: MAIL FROM, RCPT TO (one recipient), DATA, the message.
  // On a refused MAIL/RCPT/DATA the session sends RSET and stays usable;
  // connection_lost says when it did not.
  SmtpResult Send(const std::string& from, const std::string& rcpt, const std::string& message);

  // The same, and when the server offers PIPELINING: once this message's
  // 354 has come, `next` (may be null) is asked for the transaction that
  // follows; its MAIL, RCPT and DATA go in the same write as this message's
  // data and final "." (RFC 2920 §3.1: message content may open a group),
  // so a stream of messages costs one round trip each instead of two. The
  // caller must then Send exactly that transaction next, with the same
  // strings; anything else (another Send, Quit) closes the connection
  // without a word, which aborts a DATA the server may have accepted
  // (nothing of it was sent). A next transaction that needs what the server
  // lacks (SMTPUTF8, SIZE) is not started early; its Send reports it.
  SmtpResult Send(const std::string& from, const std::string& rcpt, const std::string& message,
                  const SmtpNextFn& next);

  // QUIT and close (best effort, short timeout).
  void Quit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sealmail
