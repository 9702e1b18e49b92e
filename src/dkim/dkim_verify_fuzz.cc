// libFuzzer target for src/dkim's parsers and canonicalisation. The first
// byte picks what the rest feeds:
//   0 tag lists        offsets stay inside the input
//   1 key records      never crash; accepted keys re-serialise and re-parse
//   2 DKIM-Signature   parsed tags are consistent (b= span, h= has from)
//   3 whole messages   VerifyDkim with a fixed key never crashes
//   4 bodies           streaming hash == hash of the canonical copy ==
//                      a slow reference; canonicalisation is idempotent
//   5 sign + verify    whatever the signer accepts, the verifier passes
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/dkim_internal.h"

namespace sealmail {
namespace {

const DkimSigner& Signer() {
  // RFC 8463 appendix A's Ed25519 seed: a fixed key keeps runs reproducible.
  static const DkimSigner signer = [] {
    auto key = DkimPrivateKey::Parse("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", "seed");
    if (!key.ok()) std::abort();
    DkimSignerOptions o;
    o.domain = "example.com";
    o.selector = "fuzz";
    o.algorithm = DkimAlgorithm::kEd25519Sha256;
    auto s = DkimSigner::Create(*key, o);
    if (!s.ok()) std::abort();
    return *s;
  }();
  return signer;
}

// The body algorithms written the slow, obvious way (split, transform, drop
// trailing empty lines, join): a differential check of the one-pass code.
std::string ReferenceBody(DkimCanon c, std::string_view body) {
  std::vector<std::string> lines;
  for (size_t pos = 0;;) {
    size_t e = body.find("\r\n", pos);
    lines.emplace_back(body.substr(pos, e == std::string_view::npos ? body.npos : e - pos));
    if (e == std::string_view::npos) break;
    pos = e + 2;
  }
  if (c == DkimCanon::kRelaxed) {
    for (auto& l : lines) {
      std::string o;
      for (char ch : l) {
        bool wsp = ch == ' ' || ch == '\t';
        if (wsp && !o.empty() && o.back() == ' ') continue;
        o.push_back(wsp ? ' ' : ch);
      }
      while (!o.empty() && o.back() == ' ') o.pop_back();
      l = o;
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return c == DkimCanon::kSimple ? "\r\n" : "";
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  return out;
}

std::string Digest(std::string_view s) {
  unsigned char d[32];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, DkimSha256(), nullptr);
  return std::string(reinterpret_cast<char*>(d), n);
}

}  // namespace
}  // namespace sealmail

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sealmail;
  if (size < 1 || size > 65536) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: {
      auto tags = ParseDkimTagList(in);
      if (tags.ok()) {
        for (const auto& t : *tags) {
          if (t.value_begin > t.spec_end || t.spec_end > in.size()) std::abort();
        }
      }
      break;
    }
    case 1: {
      auto key = DkimPublicKey::FromRecord(in);
      if (key.ok()) {
        auto again = DkimPublicKey::FromRecord(key->RecordText());
        if (!again.ok() || !again->SameKey(*key)) std::abort();
      }
      break;
    }
    case 2: {
      bool refused = false;
      auto sig = ParseDkimSignature(in, &refused);
      if (sig.ok()) {
        if (sig->b_value_begin > sig->b_spec_end || sig->b_spec_end > in.size()) std::abort();
        bool from = false;
        for (const auto& h : sig->info.headers) from |= h == "from";
        if (!from || sig->b.empty()) std::abort();
      }
      break;
    }
    case 3: {
      static const DkimPublicKey key = Signer().PublicKey();
      DkimVerifyOptions o;
      o.key_lookup = [](std::string_view, std::string_view) -> Result<DkimPublicKey> {
        return key;
      };
      o.now_unix = 1795600000;
      auto v = VerifyDkim(in, o);
      if (v.empty()) std::abort();
      break;
    }
    case 4: {
      for (DkimCanon c : {DkimCanon::kSimple, DkimCanon::kRelaxed}) {
        std::string canon = CanonicalizeBody(c, in);
        auto h = HashDkimBody(c, in, DkimSha256());
        if (!h.ok() || h->digest != Digest(canon) || h->canonical_length != canon.size()) {
          std::abort();
        }
        if (CanonicalizeBody(c, canon) != canon) std::abort();
        if (canon != ReferenceBody(c, in)) std::abort();
      }
      break;
    }
    case 5: {
      auto signed_msg = Signer().SignMessage(in, 1795600000);
      if (!signed_msg.ok()) break;
      DkimVerifyOptions o;
      DkimPublicKey key = Signer().PublicKey();
      o.key_lookup = [&](std::string_view, std::string_view) -> Result<DkimPublicKey> {
        return key;
      };
      o.now_unix = 1795600000;
      auto v = VerifyDkim(*signed_msg, o);
      if (v.empty() || v[0].result != DkimResult::kPass) std::abort();
      break;
    }
  }
  return 0;
}
