#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <sstream>

#include "base/file.h"
#include "dns/dns.h"

namespace sealmail {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!s.empty() && s.back() == '.' && s.size() > 1) s.pop_back();
  return s;
}

// "127.0.0.1", "127.0.0.1:2525", "[::1]:2525", "::1". Loopback only.
Result<HostAddress> ParseLoopback(const std::string& text) {
  HostAddress a;
  std::string ip = text, port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return Status::Invalid("unclosed [ in \"" + text + "\"");
    ip = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return Status::Invalid("expected :PORT after ]");
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    ip = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    if (buf[0] != 127) {
      return Status::Invalid(ip +
                             " is not a loopback address (127.0.0.0/8): the table "
                             "resolver is a test tool and never sends mail elsewhere");
    }
  } else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    static const unsigned char kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (std::memcmp(buf, kLoop6, 16) != 0) {
      return Status::Invalid(ip +
                             " is not the loopback address ::1: the table resolver is "
                             "a test tool and never sends mail elsewhere");
    }
  } else {
    return Status::Invalid("\"" + ip + "\" is not an IP address");
  }
  a.ip = ip;
  if (!port.empty()) {
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
    if (ec != std::errc() || p != port.data() + port.size() || a.port < 1 || a.port > 65535) {
      return Status::Invalid("bad port \"" + port + "\"");
    }
  }
  return a;
}

}  // namespace

Result<std::unique_ptr<TableResolver>> TableResolver::Load(const std::string& path) {
  SM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto r = std::unique_ptr<TableResolver>(new TableResolver());
  r->path_ = path;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto err = [&](const std::string& why) {
      return Status::Invalid(path + ":" + std::to_string(n) + ": " + why);
    };
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream ls(line);
    std::vector<std::string> f;
    for (std::string w; ls >> w;) f.push_back(w);
    if (f.empty()) continue;
    if (f.size() < 2) return err("expected NAME mx|a|nxdomain|servfail ...");
    std::string name = Lower(f[0]);
    std::string type = Lower(f[1]);
    Name& e = r->names_[name];
    if (type == "mx" && f.size() == 4) {
      MxRecord m;
      auto [p, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), m.preference);
      if (ec != std::errc() || p != f[2].data() + f[2].size() || m.preference < 0 ||
          m.preference > 65535) {
        return err("bad MX preference \"" + f[2] + "\"");
      }
      m.host = f[3] == "." ? "" : Lower(f[3]);
      e.mx.push_back(m);
    } else if (type == "a" && f.size() == 3) {
      auto a = ParseLoopback(f[2]);
      if (!a.ok()) return err(a.status().message());
      e.addresses.push_back(*a);
    } else if (type == "nxdomain" && f.size() == 2) {
      e.nxdomain = true;
    } else if (type == "servfail" && f.size() == 2) {
      e.servfail = true;
    } else {
      return err(
          "expected \"NAME mx PREF HOST\", \"NAME a IP[:PORT]\", \"NAME nxdomain\" or "
          "\"NAME servfail\"");
    }
  }
  return r;
}

Result<const TableResolver::Name*> TableResolver::Find(const std::string& name) const {
  auto it = names_.find(Lower(name));
  if (it == names_.end() || it->second.nxdomain) {
    return Status::NotFound(name + ": not in the test resolver table");
  }
  if (it->second.servfail) return Status::Transient(name + ": SERVFAIL (test resolver table)");
  return &it->second;
}

Result<std::vector<MxRecord>> TableResolver::LookupMx(const std::string& domain) {
  SM_ASSIGN_OR_RETURN(const Name* n, Find(domain));
  return n->mx;
}

Result<std::vector<HostAddress>> TableResolver::LookupAddresses(const std::string& host) {
  SM_ASSIGN_OR_RETURN(const Name* n, Find(host));
  return n->addresses;
}

}  // namespace sealmail
