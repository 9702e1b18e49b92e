// SmtpSession against a scripted loopback server (127.0.0.1 only): replies
// the real servers in the integration tests do not give on demand.
#include "smtp/smtp_session.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace sealmail {
namespace {

using namespace std::chrono_literals;

// Accepts connections one after another; sends `greeting`, then answers each
// command line by the first matching prefix in `replies` ("250 ok" when none
// matches). After a 354 it reads the data up to "\r\n.\r\n" and answers
// `data_end` (or the k-th of `data_ends` for the k-th message, when given; a
// 421 there hangs up). An empty reply means: say nothing (a hung server).
class FakeServer {
 public:
  FakeServer(std::string greeting, std::map<std::string, std::string> replies,
             std::string data_end = "250 2.0.0 queued\r\n",
             std::vector<std::string> data_ends = {}, size_t hang_up_after_messages = 0)
      : greeting_(std::move(greeting)),
        replies_(std::move(replies)),
        data_end_(std::move(data_end)),
        data_ends_(std::move(data_ends)),
        hang_up_after_(hang_up_after_messages) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 8);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  // Safe while the server runs: a client that does not wait for the replies
  // may look before the server is done.
  std::string data() const {
    std::lock_guard<std::mutex> l(mu_);
    return data_;
  }
  std::string commands() const {
    std::lock_guard<std::mutex> l(mu_);
    return commands_;
  }
  // Every byte received, and how many connections the client has closed.
  std::string raw() const {
    std::lock_guard<std::mutex> l(mu_);
    return raw_;
  }
  int closed_by_client() const { return closed_by_client_; }
  // Messages whose final "." arrived with more bytes behind it in the same
  // read (the next transaction's commands, pipelined).
  int data_ends_with_more() const { return data_ends_with_more_; }

 private:
  void Run() {
    for (int conns = 0; conns < 10 && !stop_; ++conns) {  // bounded
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      Serve(c);
      close(c);
    }
  }
  void Send(int c, const std::string& s) {
    if (!s.empty()) (void)!send(c, s.data(), s.size(), MSG_NOSIGNAL);  // the client may be gone
  }
  void Serve(int c) {
    Send(c, greeting_);
    if (greeting_.empty() || greeting_[0] != '2') {
      char b[512];
      while (!stop_ && read(c, b, sizeof b) > 0) {}
      return;
    }
    std::string buf;
    bool in_data = false;
    char b[4096];
    for (int reads = 0; reads < 10000 && !stop_; ++reads) {
      ssize_t n = read(c, b, sizeof b);
      if (n <= 0) {
        if (n == 0) ++closed_by_client_;
        return;
      }
      buf.append(b, static_cast<size_t>(n));
      {
        std::lock_guard<std::mutex> l(mu_);
        raw_.append(b, static_cast<size_t>(n));
      }
      for (;;) {
        if (in_data) {
          // The end is "\r\n.\r\n", or ".\r\n" for an empty message.
          size_t e = buf.rfind(".\r\n", 0) == 0 ? 0 : buf.find("\r\n.\r\n");
          if (e == std::string::npos) break;
          size_t end = e == 0 && buf[0] == '.' ? 3 : e + 5;
          {
            std::lock_guard<std::mutex> l(mu_);
            data_ += buf.substr(0, end);
          }
          buf.erase(0, end);
          in_data = false;
          if (!buf.empty()) ++data_ends_with_more_;
          std::string reply = messages_ < data_ends_.size() ? data_ends_[messages_] : data_end_;
          ++messages_;
          Send(c, reply);
          if (reply.rfind("421", 0) == 0 || messages_ == hang_up_after_) return;
          continue;
        }
        size_t e = buf.find("\r\n");
        if (e == std::string::npos) break;
        std::string line = buf.substr(0, e);
        buf.erase(0, e + 2);
        {
          std::lock_guard<std::mutex> l(mu_);
          commands_ += line + "\n";
        }
        std::string reply = "250 ok\r\n";
        for (const auto& [prefix, r] : replies_) {
          if (line.rfind(prefix, 0) == 0) reply = r;
        }
        if (line == "DATA" && reply == "250 ok\r\n") reply = "354 go ahead\r\n";
        if (reply.rfind("354", 0) == 0) in_data = true;
        if (line == "QUIT") {
          Send(c, "221 bye\r\n");
          return;
        }
        Send(c, reply);
        if (reply.rfind("421", 0) == 0) return;
      }
    }
  }

  std::string greeting_;
  std::map<std::string, std::string> replies_;
  std::string data_end_;
  std::vector<std::string> data_ends_;
  size_t hang_up_after_ = 0;  // 0: never
  size_t messages_ = 0;
  std::atomic<int> closed_by_client_{0};
  std::atomic<int> data_ends_with_more_{0};
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::string data_, commands_, raw_;
  std::thread thread_;
};

SmtpOptions Opts(int port) {
  SmtpOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.timeouts.CapAll(2s);
  return o;
}

TEST(SmtpSession, PipelinedDeliveryDotStuffedAndRsetAfterRefusal) {
  FakeServer srv("220-fake\r\n220 ESMTP ready\r\n",
                 {{"EHLO", "250-fake\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250 8BITMIME\r\n"},
                  {"RCPT TO:<bad@", "550 5.1.1 no such user\r\n"},
                  {"DATA", "354 go\r\n"}});
  SmtpSession s(Opts(srv.port()));
  SmtpResult o = s.Open();
  ASSERT_TRUE(o.ok) << o.Describe();
  EXPECT_TRUE(s.pipelining());
  SmtpResult r = s.Send("a@x.example", "bad@y.example", "Subject: x\r\n\r\nhi\r\n");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.stage, SmtpStage::kRcpt);
  EXPECT_EQ(r.reply.code, 550);
  EXPECT_EQ(r.reply.enhanced, "5.1.1");
  EXPECT_FALSE(r.connection_lost);
  r = s.Send("a@x.example", "good@y.example", "Subject: x\r\n\r\n.hi\r\n.\r\nend");
  EXPECT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.reply.code, 250);
  s.Quit();
  EXPECT_NE(srv.commands().find("RSET"), std::string::npos);
  EXPECT_NE(srv.commands().find("MAIL FROM:<a@x.example> SIZE="), std::string::npos);
  // The refused transaction's DATA (pipelined) got 354 and was ended empty.
  EXPECT_EQ(srv.data(), ".\r\nSubject: x\r\n\r\n..hi\r\n..\r\nend\r\n.\r\n");
}

TEST(SmtpSession, HeloFallbackWhenEhloIsRefused) {
  FakeServer srv("220 old\r\n", {{"EHLO", "502 5.5.1 what?\r\n"}});
  SmtpSession s(Opts(srv.port()));
  SmtpResult o = s.Open();
  ASSERT_TRUE(o.ok) << o.Describe();
  EXPECT_FALSE(s.pipelining());
  EXPECT_TRUE(s.Send("a@x.example", "b@y.example", "x\r\n").ok);
  s.Quit();
  EXPECT_NE(srv.commands().find("HELO "), std::string::npos);
}

TEST(SmtpSession, FailuresWhileOpening) {
  struct Case {
    std::string greeting;
    std::map<std::string, std::string> replies;
    int want_code;
    std::string want_error;
  };
  const std::vector<Case> cases = {
      {"554 5.7.1 go away\r\n", {}, 554, ""},
      {"421 4.3.2 busy\r\n", {}, 421, ""},
      {"220 ok\r\n", {{"EHLO", "hello there\r\n"}}, 0, "malformed reply"},
      {"", {}, 0, "timed out"},  // never greets
  };
  for (const auto& c : cases) {
    FakeServer srv(c.greeting, c.replies);
    SmtpOptions o = Opts(srv.port());
    o.timeouts.CapAll(300ms);
    SmtpSession s(o);
    auto t0 = std::chrono::steady_clock::now();
    SmtpResult r = s.Open();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.connection_lost);
    EXPECT_EQ(r.reply.code, c.want_code) << r.Describe();
    EXPECT_NE(r.error.find(c.want_error), std::string::npos) << r.Describe();
    EXPECT_FALSE(s.is_open());
  }
}

TEST(SmtpSession, ServiceClosingAndSilenceAfterTheDot) {
  {
    FakeServer srv("220 ok\r\n", {{"MAIL", "421 4.7.0 slow down\r\n"}});
    SmtpSession s(Opts(srv.port()));
    ASSERT_TRUE(s.Open().ok);
    SmtpResult r = s.Send("a@x.example", "b@y.example", "x\r\n");
    EXPECT_EQ(r.reply.code, 421);
    EXPECT_TRUE(r.connection_lost);
    EXPECT_FALSE(s.is_open());
  }
  {
    // Pipelined: a 421 to MAIL, and the server hangs up before RCPT and DATA.
    FakeServer srv("220 ok\r\n", {{"EHLO", "250-fake\r\n250 PIPELINING\r\n"},
                                  {"MAIL", "421 4.7.0 too many\r\n"}});
    SmtpSession s(Opts(srv.port()));
    ASSERT_TRUE(s.Open().ok);
    ASSERT_TRUE(s.pipelining());
    SmtpResult r = s.Send("a@x.example", "b@y.example", "x\r\n");
    EXPECT_EQ(r.stage, SmtpStage::kMail);
    EXPECT_EQ(r.reply.code, 421) << r.Describe();
    EXPECT_TRUE(r.connection_lost);
  }
  {
    FakeServer srv("220 ok\r\n", {}, /*data_end=*/"");  // never answers the "."
    SmtpOptions o = Opts(srv.port());
    o.timeouts.CapAll(300ms);
    SmtpSession s(o);
    ASSERT_TRUE(s.Open().ok);
    SmtpResult r = s.Send("a@x.example", "b@y.example", "x\r\n");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.stage, SmtpStage::kDataEnd);  // the uncertain window
    EXPECT_TRUE(r.connection_lost);
  }
}

// Send's `next`: a chain of transactions, each one's MAIL, RCPT and DATA
// behind the previous one's data.
class Chain {
 public:
  Chain(SmtpSession* s, std::vector<std::string> rcpts, std::vector<std::string> messages)
      : s_(s), rcpts_(std::move(rcpts)), messages_(std::move(messages)) {}
  // Sends message k, offering message k+1 (when there is one) as next.
  SmtpResult Send(size_t k) {
    SmtpNextFn next = [this, k](SmtpEnvelope* e) {
      if (k + 1 >= rcpts_.size()) return false;
      *e = SmtpEnvelope{from_, rcpts_[k + 1], messages_[k + 1]};
      return true;
    };
    return s_->Send(from_, rcpts_[k], messages_[k], next);
  }
  const std::string& rcpt(size_t k) const { return rcpts_[k]; }
  const std::string& message(size_t k) const { return messages_[k]; }
  const std::string& from() const { return from_; }

 private:
  SmtpSession* s_;
  std::string from_ = "a@x.example";
  std::vector<std::string> rcpts_, messages_;
};

const char kPipeliningEhlo[] = "250-fake\r\n250-PIPELINING\r\n250 SIZE 100000\r\n";

TEST(SmtpSession, ChainedTransactionsGoOneRoundTripEach) {
  FakeServer srv("220 ok\r\n", {{"EHLO", kPipeliningEhlo}});
  SmtpSession s(Opts(srv.port()));
  ASSERT_TRUE(s.Open().ok);
  Chain chain(&s, {"b1@y.example", "b2@y.example", "b3@y.example"},
              {"Subject: 1\r\n\r\none\r\n", "Subject: 2\r\n\r\n.two\r\n", "Subject: 3\r\n\r\nthree\r\n"});
  for (size_t k = 0; k < 3; ++k) {
    SmtpResult r = chain.Send(k);
    EXPECT_TRUE(r.ok) << k << " " << r.Describe();
  }
  s.Quit();
  EXPECT_EQ(srv.data(),
            "Subject: 1\r\n\r\none\r\n.\r\nSubject: 2\r\n\r\n..two\r\n.\r\n"
            "Subject: 3\r\n\r\nthree\r\n.\r\n");
  EXPECT_EQ(srv.data_ends_with_more(), 2);  // messages 2 and 3 were started early
  EXPECT_NE(srv.commands().find("RCPT TO:<b3@y.example>\nDATA\nQUIT"), std::string::npos)
      << srv.commands();
}

TEST(SmtpSession, ChainedTransactionAfterARefusedOrLostMessage) {
  {
    // The first message is refused at its "."; the one behind it still goes.
    FakeServer srv("220 ok\r\n", {{"EHLO", kPipeliningEhlo}}, "250 ok\r\n",
                   {"554 5.7.1 rejected\r\n"});
    SmtpSession s(Opts(srv.port()));
    ASSERT_TRUE(s.Open().ok);
    Chain chain(&s, {"b1@y.example", "b2@y.example"}, {"one\r\n", "two\r\n"});
    SmtpResult r = chain.Send(0);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.stage, SmtpStage::kDataEnd);
    EXPECT_EQ(r.reply.code, 554);
    EXPECT_FALSE(r.connection_lost);
    r = chain.Send(1);
    EXPECT_TRUE(r.ok) << r.Describe();
    s.Quit();
    EXPECT_EQ(srv.data(), "one\r\n.\r\ntwo\r\n.\r\n");
  }
  {
    // A 421 to the first "." and the server hangs up: the second was only
    // started (MAIL, RCPT, DATA; none of its data), and fails where nothing
    // was taken, with no reply: the transport tries it on a new connection.
    FakeServer srv("220 ok\r\n", {{"EHLO", kPipeliningEhlo}}, "250 ok\r\n",
                   {"421 4.3.2 shutting down\r\n"});
    SmtpSession s(Opts(srv.port()));
    ASSERT_TRUE(s.Open().ok);
    Chain chain(&s, {"b1@y.example", "b2@y.example"}, {"one\r\n", "two\r\n"});
    SmtpResult r = chain.Send(0);
    EXPECT_EQ(r.reply.code, 421);
    EXPECT_TRUE(r.connection_lost);
    r = chain.Send(1);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.stage, SmtpStage::kMail);
    EXPECT_EQ(r.reply.code, 0);
    EXPECT_TRUE(r.connection_lost);
    EXPECT_EQ(srv.data(), "one\r\n.\r\n");
  }
  {
    // The server takes the first message and hangs up before answering the
    // second's MAIL: the second fails where nothing was taken, with no
    // reply (so the transport may send it again on a new connection).
    FakeServer srv("220 ok\r\n", {{"EHLO", kPipeliningEhlo}}, "250 ok\r\n", {},
                   /*hang_up_after_messages=*/1);
    SmtpSession s(Opts(srv.port()));
    ASSERT_TRUE(s.Open().ok);
    Chain chain(&s, {"b1@y.example", "b2@y.example"}, {"one\r\n", "two\r\n"});
    EXPECT_TRUE(chain.Send(0).ok);
    EXPECT_TRUE(s.is_open());  // the hang-up is not seen yet
    SmtpResult r = chain.Send(1);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.stage, SmtpStage::kMail);
    EXPECT_EQ(r.reply.code, 0);
    EXPECT_TRUE(r.connection_lost);
    EXPECT_FALSE(s.is_open());
    EXPECT_EQ(srv.data(), "one\r\n.\r\n");
  }
  {
    // The message behind is refused at RCPT: RSET, and the connection goes on.
    FakeServer srv("220 ok\r\n", {{"EHLO", kPipeliningEhlo},
                                   {"RCPT TO:<bad@", "550 5.1.1 no such user\r\n"}});
    SmtpSession s(Opts(srv.port()));
    ASSERT_TRUE(s.Open().ok);
    Chain chain(&s, {"b1@y.example", "bad@y.example", "b3@y.example"},
                {"one\r\n", "two\r\n", "three\r\n"});
    EXPECT_TRUE(chain.Send(0).ok);
    SmtpResult r = chain.Send(1);
    EXPECT_EQ(r.stage, SmtpStage::kRcpt);
    EXPECT_EQ(r.reply.code, 550);
    EXPECT_FALSE(r.connection_lost);
    // Message 3 was not started early (message 2's data never went), so
    // this is an ordinary transaction.
    EXPECT_TRUE(s.Send(chain.from(), chain.rcpt(2), chain.message(2)).ok);
    s.Quit();
    EXPECT_NE(srv.commands().find("RSET"), std::string::npos);
    // (This server takes DATA without a recipient: ended empty.)
    EXPECT_EQ(srv.data(), "one\r\n.\r\n.\r\nthree\r\n.\r\n");
  }
}

TEST(SmtpSession, AStartedTransactionNotSentIsAbortedByClosing) {
  for (bool quit : {false, true}) {
    FakeServer srv("220 ok\r\n", {{"EHLO", kPipeliningEhlo}});
    SmtpSession s(Opts(srv.port()));
    ASSERT_TRUE(s.Open().ok);
    Chain chain(&s, {"b1@y.example", "b2@y.example", "b3@y.example"},
                {"one\r\n", "two\r\n", "three\r\n"});
    EXPECT_TRUE(chain.Send(0).ok);  // message 2 started: its DATA got 354
    if (quit) {
      s.Quit();  // no "QUIT": it would be message text
    } else {
      SmtpResult r = s.Send(chain.from(), chain.rcpt(2), chain.message(2));  // not message 2
      EXPECT_FALSE(r.ok);
      EXPECT_EQ(r.stage, SmtpStage::kMail);
      EXPECT_TRUE(r.connection_lost);
    }
    EXPECT_FALSE(s.is_open());
    // Message 2's data never went; the server got nothing but message 1,
    // and no QUIT (it would have been read as message 2's text).
    for (int i = 0; i < 300 && srv.closed_by_client() == 0; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(srv.closed_by_client(), 1);
    EXPECT_EQ(srv.data(), "one\r\n.\r\n");
    EXPECT_EQ(srv.raw().find("QUIT"), std::string::npos) << srv.raw();
    EXPECT_EQ(srv.raw().find("two"), std::string::npos) << srv.raw();
  }
}

TEST(SmtpSession, ANextTransactionTheServerCannotTakeIsNotStartedEarly) {
  // No SMTPUTF8 here: the second message needs it and fails locally in its
  // own Send; nothing of it was sent.
  FakeServer srv("220 ok\r\n", {{"EHLO", kPipeliningEhlo}});
  SmtpSession s(Opts(srv.port()));
  ASSERT_TRUE(s.Open().ok);
  Chain chain(&s, {"b1@y.example", "b\xc3\xbc@y.example"}, {"one\r\n", "two\r\n"});
  EXPECT_TRUE(chain.Send(0).ok);
  SmtpResult r = chain.Send(1);
  EXPECT_EQ(r.reply.code, 553);
  EXPECT_TRUE(s.is_open());
  s.Quit();
  EXPECT_EQ(srv.data_ends_with_more(), 0);
  EXPECT_EQ(srv.commands().find("b\xc3\xbc@"), std::string::npos);
}

TEST(SmtpSession, NextIsNotAskedWithoutPipelining) {
  FakeServer srv("220 ok\r\n", {{"EHLO", "250-fake\r\n250 SIZE 100000\r\n"}});
  SmtpSession s(Opts(srv.port()));
  ASSERT_TRUE(s.Open().ok);
  int asked = 0;
  SmtpNextFn next = [&](SmtpEnvelope*) {
    ++asked;
    return false;
  };
  EXPECT_TRUE(s.Send("a@x.example", "b@y.example", "one\r\n", next).ok);
  s.Quit();
  EXPECT_EQ(asked, 0);
  EXPECT_NE(srv.commands().find("MAIL FROM:<a@x.example> SIZE=8\nRCPT TO:<b@y.example>\nDATA\nQUIT"),
            std::string::npos)
      << srv.commands();
}

TEST(SmtpSession, TlsRequiredWithoutStarttlsFailsClosed) {
  FakeServer srv("220 ok\r\n", {{"EHLO", "250-fake\r\n250 PIPELINING\r\n"}});
  SmtpOptions o = Opts(srv.port());
  o.tls_required = true;
  SmtpSession s(o);
  SmtpResult r = s.Open();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.policy);
  EXPECT_EQ(r.stage, SmtpStage::kStartTls);
}

}  // namespace
}  // namespace sealmail
