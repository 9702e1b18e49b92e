#include "delivery/delivery.h"

#include "mime/mime_builder.h"

namespace sealmail {

Composer::Composer(const Campaign& campaign, TemplateRenderer renderer, const Guard& guard,
                   const Clock& clock, const DkimSigner* signer)
    : campaign_(campaign),
      renderer_(std::move(renderer)),
      guard_(guard),
      clock_(clock),
      signer_(signer) {}

std::vector<std::string> Composer::SenderAddresses(const Campaign& c) {
  std::vector<std::string> out = {c.message.from.address.ToString()};
  if (c.message.reply_to) out.push_back(c.message.reply_to->address.ToString());
  out.push_back(c.message.unsubscribe_mailto);
  return out;
}

Result<std::string> Composer::Render(const Recipient& r, std::string* message_id) {
  int64_t t0 = clock_.MonotonicNanos();
  SM_RETURN_IF_ERROR(renderer_.Render(r, &content_));
  int64_t t1 = clock_.MonotonicNanos();
  stats_.render_ns += t1 - t0;
  *message_id = MakeMessageId(campaign_.name, r.key, campaign_.message.from.address.domain);
  MessageFields f;
  f.from = &campaign_.message.from;
  f.reply_to = campaign_.message.reply_to ? &*campaign_.message.reply_to : nullptr;
  f.to = r.email;
  f.to_name = content_.to_name;
  f.subject = content_.subject;
  f.text = content_.text;
  f.html = content_.html;
  f.message_id = *message_id;
  f.date_unix = clock_.NowUnix();
  f.unsubscribe_mailto = campaign_.message.unsubscribe_mailto;
  f.unsubscribe_url = content_.unsubscribe_url;
  // The last message's size and a margin: the parts' upper estimate
  // reserves about twice what a message takes, and a batch of unsigned
  // messages held until recorded is memory touched for the first time
  // (issue #9).
  if (last_bytes_ > 0) f.reserve = last_bytes_ + last_bytes_ / 8 + 256;
  auto built = BuildMessage(f);
  last_bytes_ = built.size();
  stats_.mime_ns += clock_.MonotonicNanos() - t1;
  return built;
}

Result<GuardedMessage> Composer::Compose(const Recipient& r,
                                         std::vector<GuardViolation>* violations) {
  std::string message_id;
  ++stats_.messages;
  SM_ASSIGN_OR_RETURN(std::string bytes, Render(r, &message_id));
  int64_t t0 = clock_.MonotonicNanos();
  if (signer_ != nullptr) {
    SM_ASSIGN_OR_RETURN(bytes, signer_->SignMessage(bytes, clock_.NowUnix()));
  }
  int64_t t1 = clock_.MonotonicNanos();
  stats_.dkim_ns += t1 - t0;
  std::string from = campaign_.message.from.address.ToString();
  auto checked = reuse_ != nullptr
                     ? guard_.CheckReusing(*reuse_, std::move(bytes), std::move(from), {r.email},
                                           r.email, std::move(message_id), violations)
                     : guard_.Check(std::move(bytes), std::move(from), {r.email}, r.email,
                                    std::move(message_id), violations, remember_);
  stats_.guard_ns += clock_.MonotonicNanos() - t1;
  if (checked.ok() && checked->proof_reused()) ++stats_.proofs_reused;
  return checked;
}

}  // namespace sealmail
