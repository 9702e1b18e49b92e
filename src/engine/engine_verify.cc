// Engine::Verify: `sealmail verify FILE [DIR]`, "did this really come from
// us?". Kept apart from engine.cc: it shares nothing with the sending loop.
#include <filesystem>
#include <optional>

#include "address/address.h"
#include "base/file.h"
#include "engine/engine.h"
#include "mime/mime_builder.h"
#include "mime/mime_decode.h"

namespace sealmail {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

std::optional<Address> MailboxAddress(const MimePart& root, std::string_view field) {
  const HeaderField* h = root.Find(field);
  if (h == nullptr) return std::nullopt;
  auto mb = ParseMailbox(h->value);
  if (mb.ok()) return mb->address;
  // A display name we cannot parse: the angle-bracketed address is enough.
  size_t lt = h->value.rfind('<'), gt = h->value.rfind('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
    auto a = ParseAddress(std::string_view(h->value).substr(lt + 1, gt - lt - 1));
    if (a.ok()) return *a;
  }
  return std::nullopt;
}

// The verdict that answers the question: a pass if there is one, else the
// first about a domain we asked for, else the first.
int Decisive(const std::vector<DkimVerdict>& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].result == DkimResult::kPass) return static_cast<int>(i);
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].result != DkimResult::kWrongDomain) return static_cast<int>(i);
  }
  return v.empty() ? -1 : 0;
}

}  // namespace

Result<VerifyReport> Engine::Verify(const VerifyOptions& o) {
  VerifyReport rep;
  auto bytes = ReadFile(o.file);
  if (!bytes.ok()) return Status::Invalid(bytes.status().message());
  const Campaign* c = o.campaign;

  std::optional<DkimPublicKey> key;
  if (!o.key_path.empty()) {
    auto k = DkimPublicKey::Load(o.key_path);
    if (!k.ok()) return Status::Invalid("--key " + k.status().message());
    key = *k;
  } else if (c != nullptr && c->dkim) {
    SM_ASSIGN_OR_RETURN(auto signer, MakeCampaignSigner(*c));
    key = signer->PublicKey();  // the public half of the campaign's private key
  } else if (c != nullptr) {
    return Status::Invalid(c->file +
                           ": no [dkim] section, so no key to check against (add "
                           "[dkim], or give --key with the published record or public key)");
  } else {
    return Status::Invalid("nothing to check against: give the campaign DIR, or --key");
  }

  DkimVerifyOptions vo;
  vo.now_unix = clock_.NowUnix();
  if (c != nullptr && c->dkim) {
    vo.expected_domain = c->dkim->domain;
    std::string sel = c->dkim->selector, dom = c->dkim->domain;
    bool any_selector = !o.key_path.empty();
    vo.key_lookup = [key, sel, dom, any_selector](std::string_view,
                                                  std::string_view s) -> Result<DkimPublicKey> {
      if (!any_selector && s != sel) {
        return Status::NotFound("signed with selector s=" + std::string(s) +
                                ", but the campaign's key is " + sel + "._domainkey." + dom);
      }
      return *key;
    };
  } else {
    vo.key_lookup = [key](std::string_view, std::string_view) -> Result<DkimPublicKey> {
      return *key;
    };
  }
  rep.signatures = VerifyDkim(*bytes, vo);
  rep.decisive = Decisive(rep.signatures);
  const DkimVerdict& v = rep.signatures[static_cast<size_t>(rep.decisive)];

  // The header block, for From, To and Message-ID.
  std::string_view all(*bytes);
  size_t end = all.find("\r\n\r\n");
  if (end == std::string_view::npos) end = all.find("\n\n");
  DecodedMessage head = DecodeMessage(end == std::string_view::npos ? all : all.substr(0, end + 2));
  auto from = MailboxAddress(head.root, "From");
  if (from) rep.from_domain = from->domain;
  if (const HeaderField* id = head.root.Find("Message-ID")) rep.message_id = Trim(id->value);
  auto to = MailboxAddress(head.root, "To");
  if (to) rep.recipient = to->ToString();

  auto fail = [&](std::string why) -> Result<VerifyReport> {
    rep.genuine = false;
    rep.reason = std::move(why);
    return rep;
  };
  if (v.result != DkimResult::kPass) {
    return fail(std::string(DkimResultName(v.result)) + ": " + v.reason);
  }
  if (v.unsigned_body_bytes > 0) {
    return fail("partly signed: " + std::to_string(v.unsigned_body_bytes) +
                " bytes of the body are not covered by the signature (l=), so anyone could "
                "have added them");
  }
  rep.from_aligned = from && DkimAligned(rep.from_domain, v.sig.domain);
  if (!rep.from_aligned) {
    return fail("wrong domain: the signature by d=" + v.sig.domain +
                " is valid, but the From "
                "domain " +
                (from ? rep.from_domain : std::string("(none)")) +
                " is not aligned with it, so it does not vouch for the sender");
  }
  if (c == nullptr) {
    rep.genuine = true;
    rep.reason = "valid signature by d=" + v.sig.domain + " s=" + v.sig.selector +
                 " with the given key, aligned with From";
    return rep;
  }

  rep.campaign_checked = true;
  if (!to) return fail("no recipient: the message has no To address to match a Message-ID");
  rep.expected_message_id = MakeMessageId(c->name, to->Key(), c->message.from.address.domain);
  rep.message_id_ours = rep.message_id == rep.expected_message_id;
  if (!rep.message_id_ours) {
    return fail("unknown Message-ID: " + (rep.message_id.empty() ? "(none)" : rep.message_id) +
                " is not the Message-ID campaign " + c->name + " gives " + rep.recipient + " (" +
                rep.expected_message_id + ")");
  }

  std::string state_path = o.state_path.empty() ? DefaultStatePath(*c) : o.state_path;
  if (!std::filesystem::exists(state_path)) {
    rep.state = "no state";
    rep.genuine = true;
    rep.reason = "signed with the campaign's key and carries its Message-ID for " + rep.recipient +
                 " (no state at " + state_path + " to confirm it was sent)";
    return rep;
  }
  SM_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(state_path, &clock_));
  Status bound = store->BindCampaign(c->name, o.state_path.empty(), /*create=*/false);
  std::optional<StoredRecipient> found;
  if (bound.code() != Status::Code::kNotFound) {
    SM_RETURN_IF_ERROR(bound);
    SM_ASSIGN_OR_RETURN(found, store->Find(to->Key()));
  }
  if (!found) {
    rep.state = "not in the state";
    return fail("unknown recipient: " + rep.recipient + " is not in the campaign's state");
  }
  if (found->state != DeliveryState::kSent) {
    rep.state = "not sent (" + std::string(DeliveryStateName(found->state)) + ")";
    return fail("not sent: signed with the campaign's key, but the state records " + rep.recipient +
                " as " + std::string(DeliveryStateName(found->state)) +
                " (a preview, or a message that never left?)");
  }
  rep.state = "sent";
  rep.genuine = true;
  rep.reason = "signed with the campaign's key, carries its Message-ID for " + rep.recipient +
               ", and the state records it as sent";
  return rep;
}

}  // namespace sealmail
