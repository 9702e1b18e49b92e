// Test helper: signs a raw message from stdin with src/dkim and writes the
// signed message to stdout, so integration tests can hand shapes sealmail's
// MIME builder never makes (no final CRLF, empty body, odd folding) to
// independent verifiers.
//
//   dkim_sign_tool KEY DOMAIN SELECTOR [rsa-sha256|ed25519-sha256] [c=relaxed/relaxed] [t=UNIX]
//
// The input must have CRLF line ends (the signer refuses bare LF).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include "dkim/dkim.h"

int main(int argc, char** argv) {
  using namespace sealmail;
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s KEY DOMAIN SELECTOR [ALGORITHM] [CANON] [TIME]\n", argv[0]);
    return 1;
  }
  auto key = DkimPrivateKey::Load(argv[1]);
  if (!key.ok()) {
    std::fprintf(stderr, "%s\n", key.status().message().c_str());
    return 1;
  }
  DkimSignerOptions o;
  o.domain = argv[2];
  o.selector = argv[3];
  o.algorithm =
      key->type() == DkimKeyType::kRsa ? DkimAlgorithm::kRsaSha256 : DkimAlgorithm::kEd25519Sha256;
  if (argc > 4) {
    auto a = ParseSigningAlgorithm(argv[4]);
    if (!a.ok()) {
      std::fprintf(stderr, "%s\n", a.status().message().c_str());
      return 1;
    }
    o.algorithm = *a;
  }
  if (argc > 5) {
    auto c = ParseDkimCanon(argv[5]);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().message().c_str());
      return 1;
    }
    o.canon = *c;
  }
  int64_t now = argc > 6 ? std::atoll(argv[6]) : 1795600000;
  auto signer = DkimSigner::Create(std::move(*key), o);
  if (!signer.ok()) {
    std::fprintf(stderr, "%s\n", signer.status().message().c_str());
    return 1;
  }
  std::string msg((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto out = signer->SignMessage(msg, now);
  if (!out.ok()) {
    std::fprintf(stderr, "%s\n", out.status().message().c_str());
    return 1;
  }
  std::fwrite(out->data(), 1, out->size(), stdout);
  return 0;
}
