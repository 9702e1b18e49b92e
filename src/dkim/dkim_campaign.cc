// The campaign's [dkim] section: its signer, and what `sealmail check`
// reports about it.
#include <filesystem>

#include "config/campaign.h"
#include "dkim/dkim.h"

namespace sealmail {

Result<std::optional<DkimSigner>> MakeCampaignSigner(const Campaign& c) {
  if (!c.dkim) return std::optional<DkimSigner>();
  const DkimConfig& d = *c.dkim;
  auto key = DkimPrivateKey::Load(d.key_path);
  if (!key.ok()) return Status::Invalid(c.file + ": [dkim] key: " + key.status().message());
  DkimSignerOptions o;
  o.domain = d.domain;
  o.selector = d.selector;
  auto alg = ParseSigningAlgorithm(d.algorithm);
  if (!alg.ok()) return Status::Invalid(c.file + ": [dkim] algorithm: " + alg.status().message());
  o.algorithm = *alg;
  auto canon = ParseDkimCanon(d.canonicalization);
  if (!canon.ok()) {
    return Status::Invalid(c.file + ": [dkim] canonicalization: " + canon.status().message());
  }
  o.canon = *canon;
  o.identity = d.identity;
  auto signer = DkimSigner::Create(std::move(*key), std::move(o));
  if (!signer.ok()) {
    return Status::Invalid(c.file + ": [dkim] (key " + d.key_path +
                           "): " + signer.status().message());
  }
  return std::optional<DkimSigner>(std::move(*signer));
}

Result<DkimCampaignCheck> CheckCampaignDkim(const Campaign& c) {
  DkimCampaignCheck r;
  r.from_domain = c.message.from.address.domain;
  if (!c.dkim) return r;
  r.configured = true;
  SM_ASSIGN_OR_RETURN(auto signer, MakeCampaignSigner(c));
  const DkimSignerOptions& o = signer->options();
  r.domain = o.domain;
  r.selector = o.selector;
  r.algorithm = std::string(DkimAlgorithmName(o.algorithm));
  DkimPublicKey pub = signer->PublicKey();
  r.key_type = pub.type();
  r.key_bits = pub.bits();
  r.record = MakeDkimDnsRecord(pub, o.selector, o.domain);
  r.from_org = OrganizationalDomain(r.from_domain);
  r.signing_org = OrganizationalDomain(o.domain);
  r.aligned = DkimAligned(r.from_domain, o.domain);
  if (!r.aligned) {
    r.problem = "From domain " + r.from_domain + " is not aligned with DKIM d=" + o.domain +
                " (organisational domains " + r.from_org + " and " + r.signing_org +
                " differ): receivers applying DMARC would not count the signature for the "
                "From domain; set [dkim] domain to " +
                r.from_domain +
                " or a parent of it "
                "within " +
                r.from_org;
  }
  std::error_code ec;
  auto perms = std::filesystem::status(c.dkim->key_path, ec).permissions();
  using P = std::filesystem::perms;
  if (!ec && (perms & (P::group_all | P::others_all)) != P::none) {
    r.notes.push_back("the key file " + c.dkim->key_path +
                      " can be read by other users; chmod 600 it");
  }
  if (r.key_type == DkimKeyType::kRsa && r.key_bits < 2048) {
    r.notes.push_back("a " + std::to_string(r.key_bits) +
                      "-bit RSA key: RFC 8301 recommends 2048 bits");
  }
  return r;
}

}  // namespace sealmail
