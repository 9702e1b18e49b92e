// AresResolver against a tiny DNS server on 127.0.0.1 (a UDP responder in
// this file, answering from a fixed zone): MX records, the null MX, NODATA,
// NXDOMAIN, SERVFAIL, and through ResolveMailHosts the whole RFC 5321 §5.1
// route. c-ares is pointed at it with a server list; nothing leaves the
// machine.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "dns/dns.h"

namespace sealmail {
namespace {

struct Zone {
  std::map<std::string, std::vector<std::pair<int, std::string>>> mx;  // name -> (pref, host)
  std::map<std::string, std::vector<std::string>> a;                   // name -> IPv4
  std::map<std::string, int> rcode;                                    // name -> forced rcode
};

std::string EncodeName(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out += static_cast<char>(dot - start);
    out += name.substr(start, dot - start);
    start = dot + 1;
  }
  out += '\0';
  return out;
}

void Put16(std::string* s, int v) {
  s->push_back(static_cast<char>((v >> 8) & 0xff));
  s->push_back(static_cast<char>(v & 0xff));
}

class FakeDnsServer {
 public:
  explicit FakeDnsServer(Zone zone) : zone_(std::move(zone)) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeDnsServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  int queries() const { return queries_; }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      unsigned char buf[1500];
      sockaddr_in from{};
      socklen_t flen = sizeof from;
      ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 12) continue;
      ++queries_;
      std::string resp = Answer(std::string(reinterpret_cast<char*>(buf), n));
      if (!resp.empty()) {
        sendto(fd_, resp.data(), resp.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
      }
    }
  }

  std::string Answer(const std::string& q) {
    // The question: one name, type, class.
    size_t i = 12;
    std::string name;
    while (i < q.size() && q[i] != 0) {
      int len = static_cast<unsigned char>(q[i]);
      if (!name.empty()) name += '.';
      name += q.substr(i + 1, len);
      i += 1 + len;
    }
    if (i + 5 > q.size()) return "";
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    int qtype = (static_cast<unsigned char>(q[i + 1]) << 8) | static_cast<unsigned char>(q[i + 2]);
    std::string question = q.substr(12, i + 5 - 12);
    bool exists = zone_.mx.count(name) || zone_.a.count(name);
    int rcode = zone_.rcode.count(name) ? zone_.rcode[name] : exists ? 0 : 3;
    std::vector<std::string> answers;
    if (rcode == 0 && qtype == 15 && zone_.mx.count(name)) {
      for (auto& [pref, host] : zone_.mx[name]) {
        std::string rdata;
        Put16(&rdata, pref);
        rdata += host == "." ? std::string(1, '\0') : EncodeName(host);
        answers.push_back(rdata);
      }
    } else if (rcode == 0 && qtype == 1 && zone_.a.count(name)) {
      for (auto& ip : zone_.a[name]) {
        in_addr addr{};
        inet_pton(AF_INET, ip.c_str(), &addr);
        answers.push_back(std::string(reinterpret_cast<char*>(&addr), 4));
      }
    }
    std::string r = q.substr(0, 2);  // ID
    Put16(&r, 0x8180 | rcode);       // QR, RD, RA, rcode
    Put16(&r, 1);                    // QDCOUNT
    Put16(&r, static_cast<int>(answers.size()));
    Put16(&r, 0);
    Put16(&r, 0);
    r += question;
    for (const auto& rdata : answers) {
      Put16(&r, 0xC00C);  // the name: a pointer to the question's
      Put16(&r, qtype);
      Put16(&r, 1);  // IN
      Put16(&r, 0);
      Put16(&r, 300);  // TTL
      Put16(&r, static_cast<int>(rdata.size()));
      r += rdata;
    }
    return r;
  }

  Zone zone_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

Zone TestZone() {
  Zone z;
  z.mx["a.example"] = {{20, "mx2.a.example"}, {10, "mx1.a.example"}};
  z.a["mx1.a.example"] = {"127.0.0.1"};
  z.a["mx2.a.example"] = {"127.0.0.2", "127.0.0.3"};
  z.mx["null.example"] = {{0, "."}};
  z.a["nomx.example"] = {"127.0.0.4"};
  z.a["broken.example"] = {};
  z.rcode["broken.example"] = 2;  // SERVFAIL
  return z;
}

TEST(AresResolver, AgainstALocalDnsServer) {
  FakeDnsServer server(TestZone());
  auto r = AresResolver::Create("127.0.0.1:" + std::to_string(server.port()), 500);
  ASSERT_TRUE(r.ok()) << r.status().message();

  auto mx = (*r)->LookupMx("a.example");
  ASSERT_TRUE(mx.ok()) << mx.status().message();
  ASSERT_EQ(mx->size(), 2u);
  auto null = (*r)->LookupMx("null.example");
  ASSERT_TRUE(null.ok()) << null.status().message();
  ASSERT_EQ(null->size(), 1u);
  EXPECT_EQ((*null)[0].host, "");
  auto nomx = (*r)->LookupMx("nomx.example");
  ASSERT_TRUE(nomx.ok()) << nomx.status().message();
  EXPECT_TRUE(nomx->empty());
  EXPECT_EQ((*r)->LookupMx("nx.example").status().code(), Status::Code::kNotFound);
  EXPECT_EQ((*r)->LookupMx("broken.example").status().code(), Status::Code::kTransient);

  auto route = ResolveMailHosts(**r, "a.example");
  ASSERT_TRUE(route.ok()) << route.status().message();
  std::vector<std::string> got;
  for (const auto& h : *route) got.push_back(h.name + "/" + h.address.ip);
  EXPECT_EQ(got, (std::vector<std::string>{"mx1.a.example/127.0.0.1", "mx2.a.example/127.0.0.2",
                                           "mx2.a.example/127.0.0.3"}));
  EXPECT_EQ((*route)[0].address.port, 25);
  route = ResolveMailHosts(**r, "nomx.example");
  ASSERT_TRUE(route.ok()) << route.status().message();
  ASSERT_EQ(route->size(), 1u);
  EXPECT_EQ((*route)[0].address.ip, "127.0.0.4");
  EXPECT_EQ(ResolveMailHosts(**r, "null.example").status().code(), Status::Code::kPermanent);
  EXPECT_EQ(ResolveMailHosts(**r, "nx.example").status().code(), Status::Code::kPermanent);
  EXPECT_GT(server.queries(), 0);
}

TEST(AresResolver, AServerThatNeverAnswersIsTransient) {
  // A bound UDP socket nobody reads: every query times out.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto r = AresResolver::Create("127.0.0.1:" + std::to_string(ntohs(a.sin_port)), 100);
  ASSERT_TRUE(r.ok());
  auto mx = (*r)->LookupMx("a.example");
  EXPECT_EQ(mx.status().code(), Status::Code::kTransient) << mx.status().message();
  close(fd);
}

}  // namespace
}  // namespace sealmail
