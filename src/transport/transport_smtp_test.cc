// SmtpTransport with fake connections on fake time: the shaping of SendBatch
// (global rate, per-domain rate and concurrency), MX fallback and failure
// handling, without a network. Real servers are in tests/integration/.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "dns/dns.h"
#include "smtp/smtp_session.h"
#include "transport/transport.h"

namespace sealmail {
namespace {

// FakeClock read by the workers and advanced by the transport's sleep hook:
// a lock makes that safe (FakeClock itself is thread-compatible).
class LockedClock final : public Clock {
 public:
  int64_t NowUnix() const override {
    std::lock_guard<std::mutex> l(mu_);
    return fake_.NowUnix();
  }
  int64_t MonotonicNanos() const override {
    std::lock_guard<std::mutex> l(mu_);
    return fake_.MonotonicNanos();
  }
  void Sleep(int64_t ns) {
    std::lock_guard<std::mutex> l(mu_);
    fake_.AdvanceSeconds(std::max<int64_t>(1, (ns + 999999999) / 1000000000));
  }

 private:
  mutable std::mutex mu_;
  FakeClock fake_{1700000000};
};

// What the fake servers saw.
struct World {
  LockedClock clock;
  std::mutex mu;
  std::map<std::string, std::vector<int64_t>> sent_at;      // domain -> clock times
  std::map<std::string, std::vector<std::string>> by_host;  // "host:port" -> recipients
  std::map<std::string, int> in_flight, max_in_flight;      // per domain, and "*" for all
  std::map<std::string, SmtpResult> open_result;            // per "host:port"; default ok
  std::map<std::string, SmtpResult> send_result;            // per recipient; default ok
  std::map<std::string, SmtpResult> send_result_once;       // the first send only
  std::map<std::string, int> hold_ms;  // per recipient: held this long before returning
  std::atomic<int> quits_while_started{0};  // Quit with a transaction started behind
  std::atomic<int> opens{0};
  // Pipelining: SendThen asks for the next message, which must then be the
  // connection's next Send.
  bool pipelining = false;
  std::atomic<int> started_early{0}, out_of_order{0};
  int policy_after_opens = -1;  // >= 0: later opens fail the TLS policy
  std::map<std::string, int> sends;  // per recipient
};

std::string Domain(const std::string& rcpt) { return rcpt.substr(rcpt.rfind('@') + 1); }

class FakeConnection final : public SmtpConnection {
 public:
  FakeConnection(World* w, const SmtpOptions& o)
      : w_(w), key_(o.host + ":" + std::to_string(o.port)) {}
  SmtpResult Open() override {
    int n = w_->opens++;
    std::lock_guard<std::mutex> l(w_->mu);
    if (w_->policy_after_opens >= 0 && n >= w_->policy_after_opens) {
      SmtpResult r;
      r.stage = SmtpStage::kStartTls;
      r.error = "the server does not offer STARTTLS";
      r.connection_lost = true;
      r.policy = true;
      return r;
    }
    auto it = w_->open_result.find(key_);
    if (it != w_->open_result.end()) return it->second;
    open_ = true;
    return Ok();
  }
  bool is_open() const override { return open_; }
  SmtpResult Send(const std::string& from, const std::string& rcpt,
                  const std::string& m) override {
    return SendThen(from, rcpt, m, nullptr);
  }
  SmtpResult SendThen(const std::string&, const std::string& rcpt, const std::string&,
                      const std::function<bool(SmtpEnvelope*)>& next) override {
    if (!primed_.empty() && primed_ != rcpt) ++w_->out_of_order;
    primed_.clear();
    std::string d = Domain(rcpt);
    SmtpResult result = Ok();
    {
      std::lock_guard<std::mutex> l(w_->mu);
      for (const std::string& k : {d, std::string("*")}) {
        w_->max_in_flight[k] = std::max(w_->max_in_flight[k], ++w_->in_flight[k]);
      }
      w_->sent_at[d].push_back(w_->clock.MonotonicNanos());
      w_->by_host[key_].push_back(rcpt);
      ++w_->sends[rcpt];
      auto it = w_->send_result.find(rcpt);
      if (it != w_->send_result.end()) result = it->second;
      auto once = w_->send_result_once.find(rcpt);
      if (once != w_->send_result_once.end()) {
        result = once->second;
        w_->send_result_once.erase(once);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));  // real overlap
    SmtpEnvelope e;
    // As SmtpSession: the next one only once this one's DATA is accepted.
    bool accepted = result.ok || result.stage == SmtpStage::kDataEnd;
    if (w_->pipelining && accepted && next && next(&e)) {
      primed_ = std::string(e.rcpt);
      ++w_->started_early;
    }
    int hold = 0;
    {
      std::lock_guard<std::mutex> l(w_->mu);
      auto h = w_->hold_ms.find(rcpt);
      if (h != w_->hold_ms.end()) hold = h->second;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(hold));
    {
      std::lock_guard<std::mutex> l(w_->mu);
      --w_->in_flight[d];
      --w_->in_flight["*"];
    }
    if (result.connection_lost) Quit();
    return result;
  }
  void Quit() override {
    if (!primed_.empty()) ++w_->quits_while_started;
    open_ = false;
    primed_.clear();
  }

 private:
  static SmtpResult Ok() {
    SmtpResult r;
    r.ok = true;
    r.reply.code = 250;
    return r;
  }
  World* w_;
  std::string key_;
  bool open_ = false;
  std::string primed_;  // the recipient started behind the last message
};

SmtpTransport::Hooks FakeHooks(World* w) {
  SmtpTransport::Hooks h;
  h.clock = &w->clock;
  h.sleep = [w](int64_t ns) { w->clock.Sleep(ns); };
  h.connect = [w](const SmtpOptions& o) -> std::unique_ptr<SmtpConnection> {
    return std::make_unique<FakeConnection>(w, o);
  };
  return h;
}

// Messages for `rcpts`, guarded by a guard with an empty audience.
std::vector<GuardedMessage> Messages(const std::vector<std::string>& rcpts) {
  static const Guard g({"news@example.com"}, std::make_shared<AudienceSet>());
  std::vector<GuardedMessage> out;
  for (const auto& r : rcpts) {
    auto m = g.Check("From: news@example.com\r\nTo: " + r + "\r\nSubject: s\r\n\r\nbody\r\n",
                     "news@example.com", {r}, r, "<" + r + ">", nullptr);
    EXPECT_TRUE(m.ok()) << m.status().message();
    out.push_back(std::move(*m));
  }
  return out;
}

std::vector<const GuardedMessage*> Ptrs(const std::vector<GuardedMessage>& ms) {
  std::vector<const GuardedMessage*> p;
  for (const auto& m : ms) p.push_back(&m);
  return p;
}

TransportConfig Relay() {
  TransportConfig t;
  t.kind = TransportConfig::Kind::kSmtp;
  t.url = "smtp://127.0.0.1:2525";
  t.host = "127.0.0.1";
  t.port = 2525;
  return t;
}

// u0@x.example ... u<n-1>@x.example
std::vector<std::string> Rcpts(int n) {
  std::vector<std::string> r;
  for (int i = 0; i < n; ++i) r.push_back("u" + std::to_string(i) + "@x.example");
  return r;
}

// A failed send as SmtpSession reports one.
SmtpResult Failed(SmtpStage stage, int code, std::string error, bool lost = true) {
  SmtpResult r;
  r.stage = stage;
  r.reply.code = code;
  r.error = std::move(error);
  r.connection_lost = lost;
  return r;
}

// One batch of messages to `rcpts` through a relay with `concurrency`
// connections, on w's fake connections.
std::vector<Outcome> SendThroughRelay(World* w, int concurrency,
                                      const std::vector<std::string>& rcpts) {
  TransportConfig t = Relay();
  t.concurrency = concurrency;
  auto tr = SmtpTransport::Open(t, "example.com", nullptr, FakeHooks(w));
  EXPECT_TRUE(tr.ok()) << tr.status().message();
  auto msgs = Messages(rcpts);
  return (*tr)->SendBatch(Ptrs(msgs));
}

struct RunResult {
  double gmail, slow, all;  // messages/s over the first 30 s of fake time
  int max_gmail, max_all;   // most in flight at once
  size_t gmail_sent;
  int64_t end_ns;
};

// 12,000 messages (a quarter to gmail.com, 300 to slow.example, the rest to
// other.example) through a relay with rate = 200, concurrency = 8 and the
// given domain limits, on fake time.
RunResult RunThirtySeconds(std::vector<DomainLimits> domains, bool pipelining = false) {
  World w;
  w.pipelining = pipelining;
  TransportConfig t = Relay();
  t.rate = 200;
  t.concurrency = 8;
  t.domains = std::move(domains);
  auto tr = SmtpTransport::Open(t, "example.com", nullptr, FakeHooks(&w));
  EXPECT_TRUE(tr.ok()) << tr.status().message();
  std::vector<std::string> rcpts;
  for (int i = 0; i < 12000; ++i) {
    rcpts.push_back("u" + std::to_string(i) + "@" +
                    (i % 4 == 0    ? "gmail.com"
                     : i % 40 == 1 ? "slow.example"
                                   : "other.example"));
  }
  auto msgs = Messages(rcpts);
  auto got = (*tr)->SendBatch(Ptrs(msgs));
  for (const auto& o : got) EXPECT_EQ(o.kind, Outcome::Kind::kDelivered) << o.detail;
  auto in_first_30s = [&](const std::string& d) {
    int n = 0;
    for (int64_t ns : w.sent_at[d]) n += ns < 30LL * 1000000000 ? 1 : 0;
    return static_cast<double>(n);
  };
  RunResult r;
  r.gmail = in_first_30s("gmail.com") / 30;
  r.slow = in_first_30s("slow.example") / 30;
  r.all = r.gmail + r.slow + in_first_30s("other.example") / 30;
  r.max_gmail = w.max_in_flight["gmail.com"];
  r.max_all = w.max_in_flight["*"];
  r.gmail_sent = w.sent_at["gmail.com"].size();
  r.end_ns = w.clock.MonotonicNanos();
  EXPECT_EQ(w.out_of_order.load(), 0);
  if (pipelining) {
    EXPECT_GT(w.started_early.load(), 0);
  }
  std::printf(
      "fake 30 s: gmail.com %.2f/s, slow.example %.2f/s, all %.2f/s; most in flight: "
      "gmail.com %d, all %d\n",
      r.gmail, r.slow, r.all, r.max_gmail, r.max_all);
  return r;
}

// The issue's acceptance test, on fake time: over the first 30 seconds of a
// batch that takes about a minute, the global rate and each listed domain's
// rate hold within 5%.
TEST(SmtpTransportShaping, RatesHoldOverThirtySeconds) {
  RunResult r = RunThirtySeconds({{"gmail.com", 50, 0}, {"slow.example", 5, 0}});
  EXPECT_NEAR(r.gmail, 50, 50 * 0.05);
  EXPECT_NEAR(r.slow, 5, 5 * 0.05);
  EXPECT_NEAR(r.all, 200, 200 * 0.05);
  EXPECT_LE(r.max_all, 8);
  EXPECT_GE(r.max_all, 2);  // the fake did run messages in parallel
  // Everything was sent; the slow domain's 300 messages set the length (5/s).
  EXPECT_EQ(r.gmail_sent, 3000u);
  EXPECT_GE(r.end_ns, 59LL * 1000000000);
}

// With a concurrency limit as well, a domain never has more messages in
// flight than it allows, and its rate stays under its limit. (It may get
// less than its rate: while its connections are busy, other domains use the
// global tokens.)
TEST(SmtpTransportShaping, DomainConcurrencyHoldsToo) {
  RunResult r = RunThirtySeconds({{"gmail.com", 50, 2}, {"slow.example", 5, 1}});
  EXPECT_LE(r.max_gmail, 2);
  EXPECT_LE(r.max_all, 8);
  EXPECT_LE(r.gmail, 50 * 1.05);
  EXPECT_GE(r.gmail, 50 * 0.5);
  EXPECT_NEAR(r.slow, 5, 5 * 0.05);
  EXPECT_NEAR(r.all, 200, 200 * 0.05);
}

// The same with a relay that pipelines: a connection starts its next
// message behind the current one, which hands over its slot; the limits
// hold just the same, and the started message is always the connection's
// next one.
TEST(SmtpTransportShaping, LimitsHoldWhenConnectionsStartTheNextMessageEarly) {
  RunResult r = RunThirtySeconds({{"gmail.com", 50, 0}, {"slow.example", 5, 0}}, true);
  EXPECT_NEAR(r.gmail, 50, 50 * 0.05);
  EXPECT_NEAR(r.slow, 5, 5 * 0.05);
  EXPECT_NEAR(r.all, 200, 200 * 0.05);
  EXPECT_LE(r.max_all, 8);
  EXPECT_EQ(r.gmail_sent, 3000u);
  r = RunThirtySeconds({{"gmail.com", 50, 2}, {"slow.example", 5, 1}}, true);
  EXPECT_LE(r.max_gmail, 2);
  EXPECT_LE(r.max_all, 8);
  EXPECT_NEAR(r.slow, 5, 5 * 0.05);
  EXPECT_NEAR(r.all, 200, 200 * 0.05);
}

// Messages started behind one whose connection is lost after its data (no
// reply to the "."): each goes exactly once, on a new connection; and when
// that new connection fails the run (TLS policy), the message fails fast
// with the stop, unsent, like the rest. None is lost, none goes twice.
TEST(SmtpTransportShaping, AMessageStartedBehindALostConnectionGoesOnce) {
  SmtpResult lost = Failed(SmtpStage::kDataEnd, 0, "timed out");
  const std::vector<std::string> rcpts = Rcpts(60);
  const std::set<int> lost_at = {3, 17, 18, 40};
  World w;
  w.pipelining = true;
  for (int i : lost_at) w.send_result[rcpts[i]] = lost;
  auto got = SendThroughRelay(&w, 2, rcpts);
  EXPECT_EQ(w.out_of_order.load(), 0);
  EXPECT_GT(w.started_early.load(), 30);
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(w.sends[rcpts[i]], 1) << rcpts[i];
    EXPECT_EQ(got[i].kind, lost_at.count(i) ? Outcome::Kind::kUncertain : Outcome::Kind::kDelivered)
        << rcpts[i] << ": " << got[i].detail;
  }
  // A new connection after each loss (the second worker's first one only if
  // it started before the first worker was through).
  EXPECT_GE(w.opens.load(), 1 + 4);
  EXPECT_LE(w.opens.load(), 2 + 4);

  World w2;
  w2.pipelining = true;
  w2.send_result[rcpts[5]] = lost;
  w2.policy_after_opens = 1;
  got = SendThroughRelay(&w2, 1, rcpts);
  EXPECT_EQ(w2.out_of_order.load(), 0);
  EXPECT_EQ(got[5].kind, Outcome::Kind::kUncertain);
  EXPECT_TRUE(got[6].stop_run) << got[6].detail;
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(w2.sends[rcpts[i]], i <= 5 ? 1 : 0) << rcpts[i];
    if (i > 5) {
      EXPECT_EQ(got[i].kind, Outcome::Kind::kTransient) << got[i].detail;
      EXPECT_TRUE(got[i].stop_run) << got[i].detail;
    }
  }
}

// A message started behind another whose connection is then found closed
// before its MAIL is answered (nothing of it taken) goes again on a new
// connection, once, and is delivered.
TEST(SmtpTransportShaping, AStartedMessageLostBeforeItsMailIsAnsweredGoesAgainOnce) {
  World w;
  w.pipelining = true;
  const std::vector<std::string> rcpts = Rcpts(20);
  w.send_result_once[rcpts[7]] = Failed(SmtpStage::kMail, 0, "connection closed by the server");
  auto got = SendThroughRelay(&w, 1, rcpts);
  EXPECT_EQ(w.out_of_order.load(), 0);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(got[i].kind, Outcome::Kind::kDelivered) << rcpts[i] << ": " << got[i].detail;
    EXPECT_EQ(w.sends[rcpts[i]], i == 7 ? 2 : 1) << rcpts[i];
  }
  EXPECT_EQ(w.opens.load(), 2);
}

// While a connection holds a message started behind its current one,
// another connection's 421 pauses the relay: the started message fails fast
// (paused, unsent) and its connection is closed, not given back.
TEST(SmtpTransportShaping, APauseWhileAMessageIsStartedClosesItsConnection) {
  World w;
  w.pipelining = true;
  const std::vector<std::string> rcpts = Rcpts(10);
  // u0 is taken, starts the next message at once and holds on for 300 ms;
  // every other message is answered 421 after 100 ms. So whichever
  // connection does not have u0 pauses the relay while u0's holds a
  // started message.
  w.hold_ms[rcpts[0]] = 300;
  for (int i = 1; i < 10; ++i) {
    w.send_result[rcpts[i]] = Failed(SmtpStage::kMail, 421, "");
    w.hold_ms[rcpts[i]] = 100;
  }
  auto got = SendThroughRelay(&w, 2, rcpts);
  EXPECT_EQ(w.out_of_order.load(), 0);
  EXPECT_EQ(w.started_early.load(), 1);
  EXPECT_EQ(w.quits_while_started.load(), 1);
  EXPECT_EQ(got[0].kind, Outcome::Kind::kDelivered) << got[0].detail;
  int sent = 0, paused = 0;
  for (int i = 1; i < 10; ++i) {
    EXPECT_EQ(got[i].kind, Outcome::Kind::kTransient) << rcpts[i] << ": " << got[i].detail;
    sent += w.sends[rcpts[i]];
    paused += got[i].detail.find("paused") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(sent, 1);    // the one that got the 421
  EXPECT_EQ(paused, 8);  // the rest, the started one among them, unsent
}

// Without a rate, only concurrency shapes: nothing waits on the clock.
TEST(SmtpTransportShaping, ConcurrencyOnlyNeedsNoTime) {
  World w;
  TransportConfig t = Relay();
  t.concurrency = 6;
  t.domains = {{"gmail.com", 0, 1}};
  auto tr = SmtpTransport::Open(t, "example.com", nullptr, FakeHooks(&w));
  ASSERT_TRUE(tr.ok());
  std::vector<std::string> rcpts;
  for (int i = 0; i < 600; ++i)
    rcpts.push_back("u" + std::to_string(i) + (i % 2 ? "@gmail.com" : "@x.example"));
  auto msgs = Messages(rcpts);
  auto got = (*tr)->SendBatch(Ptrs(msgs));
  for (const auto& o : got) EXPECT_EQ(o.kind, Outcome::Kind::kDelivered);
  EXPECT_EQ(w.max_in_flight["gmail.com"], 1);
  EXPECT_LE(w.max_in_flight["*"], 6);
  EXPECT_EQ(w.clock.MonotonicNanos(), 0);
  EXPECT_LE(w.opens.load(), 6);  // connections are kept and reused
}

// A relay that refuses the connection pauses the destination: one attempt,
// every other message fails fast as transient, without waiting for the rate
// limit (no fake time passes).
TEST(SmtpTransportShaping, RefusedRelayIsPausedNotHammered) {
  World w;
  SmtpResult refused;
  refused.stage = SmtpStage::kConnect;
  refused.error = "connection refused";
  refused.connection_lost = true;
  w.open_result["127.0.0.1:2525"] = refused;
  TransportConfig t = Relay();
  t.concurrency = 1;
  t.rate = 1;
  auto tr = SmtpTransport::Open(t, "example.com", nullptr, FakeHooks(&w));
  ASSERT_TRUE(tr.ok());
  std::vector<std::string> rcpts;
  for (int i = 0; i < 50; ++i) rcpts.push_back("u" + std::to_string(i) + "@x.example");
  auto msgs = Messages(rcpts);
  auto got = (*tr)->SendBatch(Ptrs(msgs));
  for (const auto& o : got) EXPECT_EQ(o.kind, Outcome::Kind::kTransient) << o.detail;
  EXPECT_EQ(w.opens.load(), 1);
  EXPECT_NE(got[49].detail.find("paused"), std::string::npos) << got[49].detail;
  EXPECT_EQ(w.clock.MonotonicNanos(), 0);
}

// mx: on a table of loopback answers: each domain's mail goes to its own
// hosts, the first MX refusing sends it to the second, a null MX fails
// permanently and a DNS failure is transient.
TEST(SmtpTransportMx, RoutesByDomainWithFallback) {
  std::string path = ::testing::TempDir() + "/mx_table";
  {
    FILE* f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs(
        "a.example mx 10 mx.a.example\n"
        "mx.a.example a 127.0.0.1:1001\n"
        "b.example mx 20 mx2.b.example\n"
        "b.example mx 10 mx1.b.example\n"
        "mx1.b.example a 127.0.0.1:1002\n"
        "mx2.b.example a 127.0.0.1:1003\n"
        "null.example mx 0 .\n"
        "broken.example servfail\n"
        "plain.example a 127.0.0.2:1004\n"
        "c.example mx 10 mxa.c.example\n"
        "c.example mx 20 mxb.c.example\n"
        "mxa.c.example a 127.0.0.1:1005\n"
        "mxb.c.example a 127.0.0.1:1006\n"
        "down.example mx 10 mx.down.example\n"
        "mx.down.example a 127.0.0.1:1002\n",
        f);
    fclose(f);
  }
  auto table = TableResolver::Load(path);
  ASSERT_TRUE(table.ok()) << table.status().message();
  World w;
  SmtpResult refused;
  refused.stage = SmtpStage::kConnect;
  refused.error = "connection refused";
  refused.connection_lost = true;
  w.open_result["127.0.0.1:1002"] = refused;
  SmtpResult go_away;  // 554 greeting: this host takes no mail, another may
  go_away.stage = SmtpStage::kGreeting;
  go_away.reply.code = 554;
  go_away.connection_lost = true;
  w.open_result["127.0.0.1:1005"] = go_away;
  TransportConfig t;
  t.kind = TransportConfig::Kind::kMx;
  t.url = "mx:";
  t.concurrency = 2;
  auto tr = SmtpTransport::Open(t, "example.com", std::move(*table), FakeHooks(&w));
  ASSERT_TRUE(tr.ok()) << tr.status().message();
  EXPECT_EQ((*tr)->Describe(), "mx: (TEST resolver table " + path + ")");
  auto msgs = Messages({"1@a.example", "2@b.example", "3@null.example", "4@broken.example",
                        "5@a.example", "6@b.example", "7@plain.example", "8@nx.example",
                        "9@c.example", "10@down.example"});
  auto got = (*tr)->SendBatch(Ptrs(msgs));
  EXPECT_EQ(got[0].kind, Outcome::Kind::kDelivered);
  EXPECT_EQ(got[1].kind, Outcome::Kind::kDelivered) << got[1].detail;
  EXPECT_EQ(got[2].kind, Outcome::Kind::kPermanent);
  EXPECT_NE(got[2].detail.find("null MX"), std::string::npos) << got[2].detail;
  EXPECT_EQ(got[3].kind, Outcome::Kind::kTransient);
  EXPECT_EQ(got[6].kind, Outcome::Kind::kDelivered);  // no MX: the domain's own address
  EXPECT_EQ(got[7].kind, Outcome::Kind::kPermanent) << got[7].detail;
  using V = std::vector<std::string>;
  EXPECT_EQ(got[8].kind, Outcome::Kind::kDelivered) << got[8].detail;
  EXPECT_EQ(got[9].kind, Outcome::Kind::kTransient);  // its only MX refuses (then paused)
  EXPECT_FALSE(got[9].stop_run);
  EXPECT_EQ(w.by_host["127.0.0.1:1006"], (V{"9@c.example"}));
  std::sort(w.by_host["127.0.0.1:1001"].begin(), w.by_host["127.0.0.1:1001"].end());
  EXPECT_EQ(w.by_host["127.0.0.1:1001"], (V{"1@a.example", "5@a.example"}));
  std::sort(w.by_host["127.0.0.1:1003"].begin(), w.by_host["127.0.0.1:1003"].end());
  EXPECT_EQ(w.by_host["127.0.0.1:1003"], (V{"2@b.example", "6@b.example"}));
  EXPECT_EQ(w.by_host["127.0.0.2:1004"], (V{"7@plain.example"}));
  EXPECT_TRUE(w.by_host["127.0.0.1:1002"].empty());
}

}  // namespace
}  // namespace sealmail
