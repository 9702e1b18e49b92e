// DKIM signing throughput, one core: the raw signature operation (what
// `openssl speed` measures, and for Ed25519 also libsodium's, which
// DkimSigner uses) next to DkimSigner::Sign on a real sealmail
// message (body canonicalisation and hash, header selection and
// canonicalisation, folding, base64), so the per-message overhead beyond the
// signature is visible.
//
//   dkim_bench [--message=FILE.eml] [Google Benchmark flags]
//
// bench/dkim_bench.sh runs it with `openssl speed` and prints one table.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "dkim/dkim.h"
#include "dkim/dkim_internal.h"

namespace {

std::string g_message;

// A message shaped like sealmail's own (used when no --message is given).
std::string DefaultMessage() {
  std::string m =
      "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
      "From: Example Exchange <support@example.com>\r\n"
      "Reply-To: support@example.com\r\n"
      "To: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.org>\r\n"
      "Subject: =?UTF-8?Q?Changes_to_the_EX-50_index_=E2=80=94_J=C3=BCrgen=2C_here_is?=\r\n"
      " =?UTF-8?Q?_what_changes_for_you?=\r\n"
      "Message-ID: <0123456789abcdef0123456789abcdef.index-change@example.com>\r\n"
      "MIME-Version: 1.0\r\n"
      "List-Unsubscribe: <mailto:unsubscribe@example.com>\r\n"
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n";
  for (int i = 0; i < 40; ++i) {
    m += "The EX-50 index changes on 1 December: constituents, weights and fees, line " +
         std::to_string(i) + ".\r\n";
  }
  return m;
}

EVP_PKEY* Generate(const char* type, size_t bits) {
  return bits > 0 ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, bits)
                  : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
}

std::string Pem(EVP_PKEY* k) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

struct Keys {
  EVP_PKEY* rsa = Generate("RSA", 2048);
  EVP_PKEY* ed = Generate("ED25519", 0);
};
Keys& K() {
  static Keys k;
  return k;
}

// The raw operation: RSA PKCS#1 v1.5 over a SHA-256 digest, as `openssl speed
// rsa2048` does, with a fresh context per signature (DkimSigner keeps one per thread).
void BM_RawSign_rsa2048(benchmark::State& state) {
  unsigned char digest[32] = {1, 2, 3};
  unsigned char sig[512];
  for (auto _ : state) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(K().rsa, nullptr);
    size_t len = sizeof sig;
    EVP_PKEY_sign_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
    if (EVP_PKEY_sign(ctx, sig, &len, digest, sizeof digest) != 1) state.SkipWithError("sign");
    EVP_PKEY_CTX_free(ctx);
  }
  state.SetItemsProcessed(state.iterations());
}

// Ed25519 over a 32-byte message (DKIM signs the SHA-256 of the header input).
void BM_RawSign_ed25519(benchmark::State& state) {
  unsigned char msg[32] = {1, 2, 3};
  unsigned char sig[64];
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = sizeof sig;
    EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, K().ed);
    if (EVP_DigestSign(ctx, sig, &len, msg, sizeof msg) != 1) state.SkipWithError("sign");
    EVP_MD_CTX_free(ctx);
  }
  state.SetItemsProcessed(state.iterations());
}

// The same with libsodium, through the call DkimSigner makes (the key
// expanded once a thread). Threads(2): both cores at once, for
// bench/e2e_bench.py's limit beside `openssl speed -multi 2`.
void BM_RawSign_ed25519_sodium(benchmark::State& state) {
  static const sealmail::DkimPrivateKey key = *sealmail::DkimPrivateKey::Parse(Pem(K().ed), "bench");
  unsigned char msg[32] = {1, 2, 3};
  unsigned char sig[64];
  for (auto _ : state) {
    msg[0] = static_cast<unsigned char>(state.iterations());
    if (!sealmail::SignEd25519(key, std::string_view(reinterpret_cast<char*>(msg), sizeof msg), sig)
             .ok()) {
      state.SkipWithError("sign");
    }
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}

void SignWith(benchmark::State& state, EVP_PKEY* k, sealmail::DkimAlgorithm alg) {
  auto key = sealmail::DkimPrivateKey::Parse(Pem(k), "bench");
  sealmail::DkimSignerOptions o;
  o.domain = "example.com";
  o.selector = "s2026";
  o.algorithm = alg;
  auto signer = sealmail::DkimSigner::Create(*key, o);
  if (!signer.ok()) {
    state.SkipWithError(signer.status().message().c_str());
    return;
  }
  for (auto _ : state) {
    auto h = signer->Sign(g_message, 1795600000);
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["message_bytes"] = static_cast<double>(g_message.size());
}

void BM_DkimSign_rsa2048(benchmark::State& state) {
  SignWith(state, K().rsa, sealmail::DkimAlgorithm::kRsaSha256);
}
void BM_DkimSign_ed25519(benchmark::State& state) {
  SignWith(state, K().ed, sealmail::DkimAlgorithm::kEd25519Sha256);
}

// Verification of the same message (for `sealmail verify` and tests).
void BM_DkimVerify_ed25519(benchmark::State& state) {
  auto key = sealmail::DkimPrivateKey::Parse(Pem(K().ed), "bench");
  sealmail::DkimVerifyOptions o;
  auto pub = key->PublicKey();
  o.key_lookup = [pub](std::string_view,
                       std::string_view) -> sealmail::Result<sealmail::DkimPublicKey> {
    return pub;
  };
  sealmail::DkimSignerOptions so;
  so.domain = "example.com";
  so.selector = "s2026";
  so.algorithm = sealmail::DkimAlgorithm::kEd25519Sha256;
  auto signed_msg = sealmail::DkimSigner::Create(*key, so)->SignMessage(g_message, 1795600000);
  for (auto _ : state) {
    auto v = sealmail::VerifyDkim(*signed_msg, o);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}

// Interleaved repetitions, so a busy neighbour slows raw and DKIM alike;
// bench/dkim_bench.sh reads the medians.
BENCHMARK(BM_RawSign_rsa2048)->MinTime(1.0)->Repetitions(5);
BENCHMARK(BM_DkimSign_rsa2048)->MinTime(1.0)->Repetitions(5);
BENCHMARK(BM_RawSign_ed25519)->MinTime(1.0)->Repetitions(5);
BENCHMARK(BM_RawSign_ed25519_sodium)->MinTime(1.0)->Repetitions(5);
BENCHMARK(BM_RawSign_ed25519_sodium)->Name("BM_RawSign_ed25519_sodium_2cores")->Threads(2)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_DkimSign_ed25519)->MinTime(1.0)->Repetitions(5);
BENCHMARK(BM_DkimVerify_ed25519)->MinTime(1.0)->Repetitions(3);

}  // namespace

int main(int argc, char** argv) {
  g_message = DefaultMessage();
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--message=", 10) == 0) {
      std::ifstream f(argv[i] + 10, std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      if (!f || ss.str().empty()) {
        std::fprintf(stderr, "dkim_bench: cannot read %s\n", argv[i] + 10);
        return 1;
      }
      g_message = ss.str();
      // Drop a DKIM-Signature already on it (a preview of a signed campaign).
      while (g_message.rfind("DKIM-Signature:", 0) == 0) {
        size_t end = g_message.find("\r\n");
        while (end != std::string::npos && end + 2 < g_message.size() &&
               (g_message[end + 2] == ' ' || g_message[end + 2] == '\t')) {
          end = g_message.find("\r\n", end + 2);
        }
        g_message.erase(0, end + 2);
      }
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
