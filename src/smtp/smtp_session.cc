#include "smtp/smtp_session.h"

// asio stays out of the header (pimpl): it is large, and only this file and
// its test need it.
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace sealmail {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void SmtpTimeouts::CapAll(milliseconds cap) {
  if (cap.count() <= 0) return;
  for (auto* t : {&connect, &greeting, &command, &data_init, &data_block, &data_term}) {
    *t = std::min(*t, cap);
  }
}

const char* SmtpStageName(SmtpStage s) {
  switch (s) {
    case SmtpStage::kConnect: return "connect";
    case SmtpStage::kGreeting: return "greeting";
    case SmtpStage::kEhlo: return "EHLO";
    case SmtpStage::kStartTls: return "STARTTLS";
    case SmtpStage::kTls: return "TLS handshake";
    case SmtpStage::kAuth: return "AUTH";
    case SmtpStage::kMail: return "MAIL FROM";
    case SmtpStage::kRcpt: return "RCPT TO";
    case SmtpStage::kData: return "DATA";
    case SmtpStage::kDataEnd: return "end of data";
    case SmtpStage::kRset: return "RSET";
    case SmtpStage::kDone: return "done";
  }
  return "?";
}

std::string SmtpResult::Describe() const {
  std::string s = SmtpStageName(stage);
  s += ": ";
  if (reply.code != 0) s += reply.ToString();
  else s += error.empty() ? "no reply" : error;
  return s;
}

namespace {

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

bool IsIpLiteral(const std::string& host) {
  asio::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

bool IsLoopback(const std::string& host) {
  asio::error_code ec;
  auto a = asio::ip::make_address(host, ec);
  return host == "localhost" || (!ec && a.is_loopback());
}

}  // namespace

// A transaction whose MAIL, RCPT and DATA went out behind the previous
// message (Send's `next`); its replies are still to be read. (At namespace
// scope: clang cannot default-construct a nested class with member
// initializers inside std::optional before the enclosing class is complete.)
struct PrimedTransaction {
  std::string from, rcpt;
  const char* message = nullptr;  // identity of the caller's bytes
  size_t message_size = 0;
  std::string data;
};

struct SmtpSession::Impl {
  explicit Impl(SmtpOptions o) : opts(std::move(o)), socket(io) {}

  SmtpOptions opts;
  asio::io_context io;
  asio::ip::tcp::socket socket;
  std::optional<asio::ssl::context> tls_ctx;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls;
  std::string rbuf;
  bool open = false;
  // Extensions from the last EHLO.
  bool esmtp = false, ext_pipelining = false, ext_starttls = false, ext_8bitmime = false,
       ext_smtputf8 = false, auth_plain = false, auth_login = false, ext_auth = false;
  uint64_t size_limit = 0;

  void Close() {
    asio::error_code ec;
    if (socket.is_open()) {
      socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      socket.close(ec);
    }
    tls.reset();
    rbuf.clear();
    open = false;
    primed.reset();
  }

  // Runs the io_context until `done` or the deadline; on timeout cancels the
  // operation, waits for its handler (it refers to the caller's locals) and
  // reports timed_out.
  asio::error_code RunUntil(bool& done, asio::error_code& ec, Clock::time_point deadline) {
    io.restart();
    auto now = Clock::now();
    if (deadline > now) io.run_for(deadline - now);
    if (!done) {
      asio::error_code ignored;
      socket.cancel(ignored);
      socket.close(ignored);
      io.restart();
      io.run();
      return asio::error::timed_out;
    }
    return ec;
  }

  asio::error_code Connect(milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    asio::error_code ec;
    bool done = false;
    asio::ip::tcp::resolver resolver(io);
    asio::ip::tcp::resolver::results_type endpoints;
    resolver.async_resolve(opts.host, std::to_string(opts.port),
                           [&](const asio::error_code& e, asio::ip::tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                             done = true;
                           });
    ec = RunUntil(done, ec, deadline);
    if (ec) return ec;
    done = false;
    asio::async_connect(socket, endpoints, [&](const asio::error_code& e, const auto&) {
      ec = e;
      done = true;
    });
    ec = RunUntil(done, ec, deadline);
    if (!ec) {
      asio::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      // For Write's direct attempt (asynchronous operations are unaffected).
      socket.non_blocking(true, ec);
    }
    return ec;
  }

  asio::error_code Write(std::string_view data, milliseconds timeout) {
    return Write(data, {}, timeout);
  }

  // Writes a, then b (one gather write: b is often the next transaction's
  // commands behind a message).
  asio::error_code Write(std::string_view a, std::string_view b, milliseconds timeout) {
    asio::error_code ec;
    size_t off = 0;  // of a + b
    const size_t total = a.size() + b.size();
    auto rest = [&]() {
      std::array<asio::const_buffer, 2> bufs;
      if (off < a.size()) {
        bufs[0] = asio::buffer(a.data() + off, a.size() - off);
        bufs[1] = asio::buffer(b.data(), b.size());
      } else {
        bufs[0] = asio::buffer(b.data() + (off - a.size()), total - off);
        bufs[1] = asio::const_buffer();
      }
      return bufs;
    };
    if (!tls) {
      // A transaction's bytes usually fit the socket's send buffer at once:
      // a direct non-blocking write spares the io_context round (an
      // epoll_wait per write). What does not fit waits for the socket
      // below, with the deadline, as before.
      while (!ec && off < total) off += socket.write_some(rest(), ec);
      if (!ec) return ec;
      if (ec != asio::error::would_block && ec != asio::error::try_again) return ec;
      ec.clear();
    }
    bool done = false;
    auto h = [&](const asio::error_code& e, size_t) {
      ec = e;
      done = true;
    };
    if (tls) asio::async_write(*tls, rest(), h);
    else asio::async_write(socket, rest(), h);
    return RunUntil(done, ec, Clock::now() + timeout);
  }

  // Reads one reply. Returns false with *err set on network error, timeout
  // or a malformed reply.
  bool ReadReply(SmtpReply* r, std::string* err, milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    char buf[16384];
    for (;;) {
      size_t used = 0;
      SmtpParse p = ParseSmtpReply(rbuf, r, &used);
      if (p == SmtpParse::kDone) {
        rbuf.erase(0, used);
        return true;
      }
      if (p == SmtpParse::kMalformed) {
        *err = "malformed reply: " + r->lines[0];
        r->lines.clear();
        return false;
      }
      asio::error_code ec;
      bool done = false;
      size_t got = 0;
      auto h = [&](const asio::error_code& e, size_t n) {
        ec = e;
        got = n;
        done = true;
      };
      if (tls) tls->async_read_some(asio::buffer(buf), h);
      else socket.async_read_some(asio::buffer(buf), h);
      ec = RunUntil(done, ec, deadline);
      if (ec) {
        *err = ec == asio::error::timed_out
                   ? "timed out after " + std::to_string(timeout.count() / 1000) + "s waiting for a reply"
               : ec == asio::error::eof ? "connection closed by the server"
                                        : "read: " + ec.message();
        return false;
      }
      rbuf.append(buf, got);
    }
  }

  SmtpResult Fail(SmtpStage stage, std::string err, bool lost = true) {
    SmtpResult r;
    r.stage = stage;
    r.error = std::move(err);
    r.connection_lost = lost;
    if (lost) Close();
    return r;
  }

  // One command, one reply. ok = reply in [want, want+100).
  SmtpResult Command(SmtpStage stage, const std::string& line, int want, milliseconds timeout) {
    if (auto ec = Write(line + "\r\n", timeout)) return Fail(stage, "write: " + ec.message());
    return Expect(stage, want, timeout);
  }

  SmtpResult Expect(SmtpStage stage, int want, milliseconds timeout) {
    SmtpResult r;
    r.stage = stage;
    std::string err;
    if (!ReadReply(&r.reply, &err, timeout)) return Fail(stage, err);
    r.ok = r.reply.code / 100 == want / 100;
    if (r.reply.code == 421) {  // service closing: the server is going away
      r.connection_lost = true;
      Close();
    }
    return r;
  }

  void ParseEhlo(const SmtpReply& rep) {
    esmtp = true;
    ext_pipelining = ext_starttls = ext_8bitmime = ext_smtputf8 = false;
    ext_auth = auth_plain = auth_login = false;
    size_limit = 0;
    for (size_t i = 1; i < rep.lines.size(); ++i) {
      std::string l = Upper(rep.lines[i]);
      std::string kw = l.substr(0, l.find(' '));
      std::string params = kw.size() < l.size() ? l.substr(kw.size() + 1) : "";
      if (kw == "PIPELINING") ext_pipelining = true;
      else if (kw == "STARTTLS") ext_starttls = true;
      else if (kw == "8BITMIME") ext_8bitmime = true;
      else if (kw == "SMTPUTF8") ext_smtputf8 = true;
      else if (kw == "SIZE") size_limit = std::strtoull(params.c_str(), nullptr, 10);
      else if (kw == "AUTH" || kw.rfind("AUTH=", 0) == 0) {
        ext_auth = true;
        std::string mechs = kw == "AUTH" ? params : l.substr(5);
        mechs = " " + mechs + " ";
        if (mechs.find(" PLAIN ") != std::string::npos) auth_plain = true;
        if (mechs.find(" LOGIN ") != std::string::npos) auth_login = true;
      }
    }
  }

  SmtpResult Hello() {
    auto t = opts.timeouts.command;
    SmtpResult r = Command(SmtpStage::kEhlo, "EHLO " + opts.helo_name, 250, t);
    if (r.ok) {
      ParseEhlo(r.reply);
      return r;
    }
    if (r.connection_lost || r.reply.code < 500) return r;
    // Not an ESMTP server: HELO, and no extensions.
    esmtp = false;
    ParseEhlo(SmtpReply{});
    esmtp = false;
    return Command(SmtpStage::kEhlo, "HELO " + opts.helo_name, 250, t);
  }

  SmtpResult Handshake() {
    try {
      if (!tls_ctx) {
        tls_ctx.emplace(asio::ssl::context::tls_client);
        tls_ctx->set_options(asio::ssl::context::default_workarounds |
                             asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                             asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
        tls_ctx->set_default_verify_paths();
        if (!opts.ca_file.empty()) tls_ctx->load_verify_file(opts.ca_file);
        tls_ctx->set_verify_mode(opts.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
      }
    } catch (const std::exception& e) {
      auto r = Fail(SmtpStage::kTls, std::string("TLS setup: ") + e.what());
      r.policy = true;
      return r;
    }
    tls = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket, *tls_ctx);
    SSL* ssl = tls->native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (IsIpLiteral(opts.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, opts.host.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, opts.host.c_str(), 0);
      SSL_set_tlsext_host_name(ssl, opts.host.c_str());
    }
    asio::error_code ec;
    bool done = false;
    tls->async_handshake(asio::ssl::stream_base::client, [&](const asio::error_code& e) {
      ec = e;
      done = true;
    });
    ec = RunUntil(done, ec, Clock::now() + opts.timeouts.command);
    if (ec) {
      std::string why = ec.message();
      long v = SSL_get_verify_result(ssl);
      if (v != X509_V_OK) why = std::string("certificate: ") + X509_verify_cert_error_string(v);
      auto r = Fail(SmtpStage::kTls, "TLS handshake with " + opts.host + " failed: " + why);
      r.policy = true;
      return r;
    }
    rbuf.clear();
    SmtpResult r;
    r.stage = SmtpStage::kTls;
    r.ok = true;
    return r;
  }

  SmtpResult Auth() {
    auto t = opts.timeouts.command;
    if (!tls && !IsLoopback(opts.host)) {
      // The password would cross the network in clear text.
      SmtpResult r = Fail(SmtpStage::kAuth,
                          "refusing to send the password without TLS (the server did not "
                          "offer STARTTLS)");
      r.policy = true;
      return r;
    }
    if (!ext_auth || (!auth_plain && !auth_login)) {
      SmtpResult r = Fail(SmtpStage::kAuth,
                          std::string("the server does not offer AUTH PLAIN or LOGIN") +
                              (tls ? "" : " (without TLS)"),
                          false);
      r.policy = true;
      return r;
    }
    if (auth_plain) {
      std::string cred;
      cred += '\0';
      cred += opts.username;
      cred += '\0';
      cred += opts.password;
      return Command(SmtpStage::kAuth, "AUTH PLAIN " + Base64(cred), 235, t);
    }
    SmtpResult r = Command(SmtpStage::kAuth, "AUTH LOGIN", 334, t);
    if (!r.ok || r.reply.code != 334) return r;
    r = Command(SmtpStage::kAuth, Base64(opts.username), 334, t);
    if (!r.ok || r.reply.code != 334) return r;
    return Command(SmtpStage::kAuth, Base64(opts.password), 235, t);
  }

  SmtpResult Open() {
    Close();
    if (auto ec = Connect(opts.timeouts.connect)) {
      return Fail(SmtpStage::kConnect, "connect to " + opts.host + ":" +
                                           std::to_string(opts.port) + ": " +
                                           (ec == asio::error::timed_out ? std::string("timed out")
                                                                         : ec.message()));
    }
    if (opts.implicit_tls) {
      SmtpResult h = Handshake();
      if (!h.ok) return h;
    }
    SmtpResult r = Expect(SmtpStage::kGreeting, 220, opts.timeouts.greeting);
    if (!r.ok) {
      if (!r.connection_lost) Close();
      r.connection_lost = true;
      return r;
    }
    r = Hello();
    if (!r.ok) return Abort(r);
    if (!tls && !opts.implicit_tls) {
      if (ext_starttls) {
        r = Command(SmtpStage::kStartTls, "STARTTLS", 220, opts.timeouts.command);
        if (!r.ok) {
          if (opts.tls_required) {
            r.policy = true;
            return Abort(r);
          }
          // Opportunistic: carry on in clear text.
        } else {
          SmtpResult h = Handshake();
          if (!h.ok) return h;
          r = Hello();
          if (!r.ok) return Abort(r);
        }
      } else if (opts.tls_required) {
        Close();
        SmtpResult f;
        f.stage = SmtpStage::kStartTls;
        f.error = "the server does not offer STARTTLS and the transport requires TLS (tls=required)";
        f.connection_lost = true;
        f.policy = true;
        return f;
      }
    }
    if (!opts.username.empty()) {
      r = Auth();
      if (!r.ok) return Abort(r);
    }
    open = true;
    SmtpResult ok;
    ok.stage = SmtpStage::kDone;
    ok.ok = true;
    return ok;
  }

  // A failed opening step: QUIT politely, close, report.
  SmtpResult Abort(SmtpResult r) {
    if (socket.is_open()) {
      (void)Write("QUIT\r\n", milliseconds(1000));
      Close();
    }
    r.ok = false;
    r.connection_lost = true;
    return r;
  }

  // After a refused transaction: RSET so the next one starts clean.
  void Reset(SmtpResult* r) {
    if (!socket.is_open()) {
      r->connection_lost = true;
      return;
    }
    SmtpResult rs = Command(SmtpStage::kRset, "RSET", 250, opts.timeouts.command);
    if (!rs.ok) {
      Close();
      r->connection_lost = true;
    }
  }

  // One transaction's bytes, or why it cannot be sent here (a local
  // refusal, no connection involved).
  struct Prepared {
    std::string commands;  // MAIL, RCPT and DATA lines
    size_t rcpt_at = 0, data_at = 0;  // where the RCPT and DATA lines start in it
    std::string data;      // dot-stuffed, with the final "."
    std::optional<SmtpResult> refusal;
  };

  // A transaction refused here, before anything is sent.
  static SmtpResult LocalRefusal(int code, std::string enhanced, std::string text) {
    SmtpResult r;
    r.stage = SmtpStage::kMail;
    r.reply.code = code;
    r.reply.enhanced = std::move(enhanced);
    r.reply.lines = {"(local) " + std::move(text)};
    return r;
  }

  Prepared Prepare(std::string_view from, std::string_view rcpt, std::string_view message) const {
    Prepared p;
    bool utf8 = NeedsSmtpUtf8(message, from, rcpt);
    if (utf8 && !ext_smtputf8) {
      p.refusal = LocalRefusal(553, "5.6.7", "the message needs SMTPUTF8 and the server does not offer it");
      return p;
    }
    p.data = DotStuff(message);
    if (size_limit > 0 && p.data.size() > size_limit) {
      p.refusal = LocalRefusal(552, "5.3.4",
                               "message size " + std::to_string(p.data.size()) +
                                   " exceeds the server's SIZE " + std::to_string(size_limit));
      return p;
    }
    std::string& c = p.commands;
    c.reserve(from.size() + rcpt.size() + 64);
    c += "MAIL FROM:<";
    c += from;
    c += '>';
    if (esmtp) {
      if (size_limit > 0) c += " SIZE=" + std::to_string(p.data.size());
      if (ext_8bitmime && HasEightBit(message)) c += " BODY=8BITMIME";
      if (utf8) c += " SMTPUTF8";
    }
    c += "\r\n";
    p.rcpt_at = c.size();
    c += "RCPT TO:<";
    c += rcpt;
    c += ">\r\n";
    p.data_at = c.size();
    c += "DATA\r\n";
    return p;
  }

  std::optional<PrimedTransaction> primed;

  SmtpResult Send(const std::string& from, const std::string& rcpt, const std::string& message,
                  const SmtpNextFn& next) {
    SmtpResult r;
    if (!open || !socket.is_open()) return Fail(SmtpStage::kMail, "not connected");
    const auto t = opts.timeouts;
    std::string data;
    bool pipelined = ext_pipelining;
    if (primed) {
      bool same = primed->from == from && primed->rcpt == rcpt &&
                  primed->message == message.data() && primed->message_size == message.size();
      if (!same) {
        // Not the transaction that was started: its DATA may be open, and
        // only a closed connection aborts it without delivering anything.
        Close();
        return Fail(SmtpStage::kMail, "not connected (a different transaction was started)");
      }
      data = std::move(primed->data);
      primed.reset();
    } else {
      Prepared p = Prepare(from, rcpt, message);
      if (p.refusal) return *p.refusal;
      data = std::move(p.data);
      if (pipelined) {
        // RFC 2920: MAIL, RCPT and DATA in one write, then the three replies.
        if (auto ec = Write(p.commands, t.command)) {
          return Fail(SmtpStage::kMail, "write: " + ec.message());
        }
      } else {
        // One command at a time: the lines of p.commands.
        std::string_view cmds = p.commands;
        r = Step(SmtpStage::kMail, cmds.substr(0, p.rcpt_at), 250, t.command);
        if (r.ok) {
          r = Step(SmtpStage::kRcpt, cmds.substr(p.rcpt_at, p.data_at - p.rcpt_at), 250, t.command);
        }
        if (r.ok) r = Step(SmtpStage::kData, cmds.substr(p.data_at), 354, t.data_init);
        if (r.ok && r.reply.code != 354) r.ok = false;
        if (!r.ok) {
          if (!r.connection_lost) Reset(&r);
          return r;
        }
        return SendData(data, nullptr);
      }
    }
    // The pipelined replies. A 421 ends the session: the replies after it
    // never come.
    SmtpReply mail_r, rcpt_r, data_r;
    std::string err;
    if (!ReadReply(&mail_r, &err, t.command)) return Fail(SmtpStage::kMail, err);
    if (mail_r.code != 421 && !ReadReply(&rcpt_r, &err, t.command)) {
      return Fail(SmtpStage::kRcpt, err);
    }
    if (mail_r.code != 421 && rcpt_r.code != 421 && !ReadReply(&data_r, &err, t.data_init)) {
      return Fail(SmtpStage::kData, err);
    }
    auto refused = [&](SmtpStage s, const SmtpReply& rep) {
      r.stage = s;
      r.reply = rep;
      r.ok = false;
      if (rep.code == 421) {
        Close();
        r.connection_lost = true;
        return r;
      }
      if (data_r.code == 354) {
        // DATA was accepted although MAIL or RCPT was not: end it empty.
        if (Write(".\r\n", t.data_term) || !ReadReply(&data_r, &err, t.data_term)) {
          Close();
          r.connection_lost = true;
          return r;
        }
      }
      Reset(&r);
      return r;
    };
    if (!mail_r.positive()) return refused(SmtpStage::kMail, mail_r);
    if (!rcpt_r.positive()) return refused(SmtpStage::kRcpt, rcpt_r);
    if (data_r.code != 354) return refused(SmtpStage::kData, data_r);
    return SendData(data, next);
  }

  // A command of a transaction without PIPELINING: one line, one reply.
  SmtpResult Step(SmtpStage stage, std::string_view line, int want, milliseconds timeout) {
    if (auto ec = Write(line, timeout)) return Fail(stage, "write: " + ec.message());
    return Expect(stage, want, timeout);
  }

  // After the 354: the data and its final ".", with the next transaction's
  // commands behind them when `next` has one, then the reply to the ".".
  SmtpResult SendData(const std::string& data, const SmtpNextFn& next) {
    const auto t = opts.timeouts;
    std::string ahead;
    SmtpEnvelope e;
    if (next && ext_pipelining && next(&e)) {
      Prepared p = Prepare(e.from, e.rcpt, e.message);
      if (!p.refusal) {
        ahead = std::move(p.commands);
        primed.emplace();
        primed->from = e.from;
        primed->rcpt = e.rcpt;
        primed->message = e.message.data();
        primed->message_size = e.message.size();
        primed->data = std::move(p.data);
      }
    }
    // From here until the reply to "." the message may or may not be taken.
    if (auto ec = Write(data, ahead, t.data_block)) {
      return Fail(SmtpStage::kDataEnd, "write: " + ec.message());
    }
    SmtpResult r;
    std::string err;
    if (!ReadReply(&r.reply, &err, t.data_term)) return Fail(SmtpStage::kDataEnd, err);
    r.stage = SmtpStage::kDataEnd;
    r.ok = r.reply.positive();
    if (r.reply.code == 421) {
      Close();
      r.connection_lost = true;
    }
    // After the final reply the transaction is over either way: no RSET needed.
    if (r.ok) r.stage = SmtpStage::kDone;
    return r;
  }
};

SmtpSession::SmtpSession(SmtpOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}
SmtpSession::~SmtpSession() { impl_->Close(); }
SmtpResult SmtpSession::Open() { return impl_->Open(); }
bool SmtpSession::is_open() const { return impl_->open && impl_->socket.is_open(); }
bool SmtpSession::tls_active() const { return impl_->tls != nullptr; }
bool SmtpSession::pipelining() const { return impl_->ext_pipelining; }
SmtpResult SmtpSession::Send(const std::string& from, const std::string& rcpt,
                             const std::string& message) {
  return impl_->Send(from, rcpt, message, nullptr);
}
SmtpResult SmtpSession::Send(const std::string& from, const std::string& rcpt,
                             const std::string& message, const SmtpNextFn& next) {
  return impl_->Send(from, rcpt, message, next);
}
void SmtpSession::Quit() {
  // With a transaction started ahead, the server may be reading its data:
  // "QUIT" would be taken as message text. Closing aborts it.
  if (is_open() && !impl_->primed) {
    (void)impl_->Command(SmtpStage::kDone, "QUIT", 221, milliseconds(2000));
  }
  impl_->Close();
}

}  // namespace sealmail
