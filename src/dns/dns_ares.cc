// The c-ares backend: synchronous lookups on one channel, one at a time
// (a c-ares channel is not safe to share between threads in 1.18); the
// transport caches routes per domain, so lookups are few.
#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <mutex>

#include "dns/dns.h"

namespace sealmail {

struct AresResolver::Impl {
  std::mutex mu;
  ares_channel channel = nullptr;

  // Drives the channel until every query has called back (c-ares enforces
  // the timeouts and retries it was configured with).
  void RunLocked() {
    for (int rounds = 0; rounds < 100000; ++rounds) {  // bounded by c-ares' own timeouts
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      pollfd fds[ARES_GETSOCK_MAXNUM];
      nfds_t n = 0;
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short ev = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
        if (ev != 0) fds[n++] = {socks[i], ev, 0};
      }
      timeval tv{};
      timeval* tvp = ares_timeout(channel, nullptr, &tv);
      if (n == 0 && tvp == nullptr) return;  // nothing pending
      int ms = tvp == nullptr ? 1000 : static_cast<int>(tv.tv_sec * 1000 + tv.tv_usec / 1000);
      int ready = poll(fds, n, std::max(ms, 1));
      if (ready <= 0) {
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
        continue;
      }
      for (nfds_t i = 0; i < n; ++i) {
        ares_process_fd(
            channel, (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD,
            (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD);
      }
    }
  }
};

namespace {

std::once_flag g_ares_init;

Status AresFailure(int status, const std::string& what) {
  if (status == ARES_ENOTFOUND) return Status::NotFound(what + ": no such domain");
  return Status::Transient(what + ": " + ares_strerror(status));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

AresResolver::AresResolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AresResolver::~AresResolver() {
  if (impl_ && impl_->channel != nullptr) ares_destroy(impl_->channel);
}

Result<std::unique_ptr<AresResolver>> AresResolver::Create(const std::string& servers,
                                                           int timeout_ms) {
  int init = ARES_SUCCESS;
  std::call_once(g_ares_init, [&] { init = ares_library_init(ARES_LIB_INIT_ALL); });
  if (init != ARES_SUCCESS) return Status::Internal(std::string("c-ares: ") + ares_strerror(init));
  auto impl = std::make_unique<Impl>();
  ares_options opts{};
  opts.timeout = timeout_ms;
  opts.tries = 2;
  int st = ares_init_options(&impl->channel, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (st != ARES_SUCCESS) return Status::Invalid(std::string("c-ares: ") + ares_strerror(st));
  auto r = std::unique_ptr<AresResolver>(new AresResolver(std::move(impl)));
  if (!servers.empty()) {
    st = ares_set_servers_ports_csv(r->impl_->channel, servers.c_str());
    if (st != ARES_SUCCESS) {
      return Status::Invalid("c-ares: DNS servers \"" + servers + "\": " + ares_strerror(st));
    }
  }
  return r;
}

Result<std::vector<MxRecord>> AresResolver::LookupMx(const std::string& domain) {
  struct State {
    int status = ARES_ENOTINITIALIZED;
    std::vector<MxRecord> mx;
  } state;
  std::lock_guard<std::mutex> lock(impl_->mu);
  ares_query(
      impl_->channel, domain.c_str(), 1 /* C_IN */, 15 /* T_MX */,
      [](void* arg, int status, int, unsigned char* abuf, int alen) {
        auto* s = static_cast<State*>(arg);
        s->status = status;
        if (status != ARES_SUCCESS) return;
        ares_mx_reply* mx = nullptr;
        int p = ares_parse_mx_reply(abuf, alen, &mx);
        if (p == ARES_ENODATA) return;  // an answer without MX records
        if (p != ARES_SUCCESS) {
          s->status = p;
          return;
        }
        for (ares_mx_reply* m = mx; m != nullptr; m = m->next) {
          s->mx.push_back({m->priority, Lower(m->host == nullptr ? "" : m->host)});
        }
        ares_free_data(mx);
      },
      &state);
  impl_->RunLocked();
  if (state.status == ARES_ENODATA) return std::vector<MxRecord>();  // the name exists, no MX
  if (state.status != ARES_SUCCESS) return AresFailure(state.status, "MX " + domain);
  return state.mx;
}

Result<std::vector<HostAddress>> AresResolver::LookupAddresses(const std::string& host) {
  struct State {
    int status = ARES_ENOTINITIALIZED;
    std::vector<HostAddress> v4, v6;
  } state;
  std::lock_guard<std::mutex> lock(impl_->mu);
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  ares_getaddrinfo(
      impl_->channel, host.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* res) {
        auto* s = static_cast<State*>(arg);
        s->status = status;
        if (status != ARES_SUCCESS || res == nullptr) return;
        for (ares_addrinfo_node* n = res->nodes; n != nullptr; n = n->ai_next) {
          char buf[INET6_ADDRSTRLEN] = {0};
          if (n->ai_family == AF_INET) {
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(n->ai_addr)->sin_addr, buf,
                      sizeof buf);
            s->v4.push_back({buf, 25});
          } else if (n->ai_family == AF_INET6) {
            inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(n->ai_addr)->sin6_addr, buf,
                      sizeof buf);
            s->v6.push_back({buf, 25});
          }
        }
        ares_freeaddrinfo(res);
      },
      &state);
  impl_->RunLocked();
  if (state.status == ARES_ENODATA) return std::vector<HostAddress>();
  if (state.status != ARES_SUCCESS) return AresFailure(state.status, "A/AAAA " + host);
  std::vector<HostAddress> out = std::move(state.v4);
  out.insert(out.end(), state.v6.begin(), state.v6.end());
  return out;
}

}  // namespace sealmail
