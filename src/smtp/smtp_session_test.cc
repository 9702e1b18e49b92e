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
#include <thread>

namespace sealmail {
namespace {

using namespace std::chrono_literals;

// Accepts connections one after another; sends `greeting`, then answers each
// command line by the first matching prefix in `replies` ("250 ok" when none
// matches). After a 354 it reads the data up to "\r\n.\r\n" and answers
// `data_end`. An empty reply means: say nothing (a hung server).
class FakeServer {
 public:
  FakeServer(std::string greeting, std::map<std::string, std::string> replies,
             std::string data_end = "250 2.0.0 queued\r\n")
      : greeting_(std::move(greeting)), replies_(std::move(replies)), data_end_(std::move(data_end)) {
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
  std::string data() const { return data_; }
  std::string commands() const { return commands_; }

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
    if (!s.empty()) (void)!write(c, s.data(), s.size());
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
      if (n <= 0) return;
      buf.append(b, static_cast<size_t>(n));
      for (;;) {
        if (in_data) {
          // The end is "\r\n.\r\n", or ".\r\n" for an empty message.
          size_t e = buf.rfind(".\r\n", 0) == 0 ? 0 : buf.find("\r\n.\r\n");
          if (e == std::string::npos) break;
          size_t end = e == 0 && buf[0] == '.' ? 3 : e + 5;
          data_ += buf.substr(0, end);
          buf.erase(0, end);
          in_data = false;
          Send(c, data_end_);
          continue;
        }
        size_t e = buf.find("\r\n");
        if (e == std::string::npos) break;
        std::string line = buf.substr(0, e);
        buf.erase(0, e + 2);
        commands_ += line + "\n";
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
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::string data_, commands_;
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
