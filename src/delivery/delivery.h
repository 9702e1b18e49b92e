// Composer: one recipient's path from merge fields to a guarded message
// (template -> mime -> dkim -> guard). Never touches the store; the caller
// records outcomes.
//
// DKIM signs before the guard runs, so the guard checks the finished bytes,
// DKIM-Signature included (DESIGN.md: the guard sits after the last byte is
// fixed). Without a signer (no [dkim]) messages go out unsigned.
//
// Not thread-safe (owns a TemplateRenderer); make one per thread.
#pragma once

#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/campaign.h"
#include "dkim/dkim.h"
#include "guard/guard.h"
#include "model/recipient.h"
#include "template/template_renderer.h"
#include "transport/transport.h"

namespace sealmail {

class Composer {
 public:
  // campaign, guard and signer (if given) must outlive the Composer.
  Composer(const Campaign& campaign, TemplateRenderer renderer, const Guard& guard,
           const Clock& clock, const DkimSigner* signer = nullptr);

  // The message's bytes before the guard (for diagnostics and tests only:
  // they cannot reach a transport without Compose).
  Result<std::string> Render(const Recipient& r, std::string* message_id);

  // Renders, builds, signs (with a signer) and guards. kInvalid: the
  // recipient's merge values cannot make a valid message (reason names line
  // and field). kBlocked: the leak guard refused; *violations says why.
  Result<GuardedMessage> Compose(const Recipient& r, std::vector<GuardViolation>* violations);

  // The campaign's own addresses: what may appear in From/Reply-To/Sender.
  static std::vector<std::string> SenderAddresses(const Campaign& c);

 private:
  const Campaign& campaign_;
  TemplateRenderer renderer_;
  const Guard& guard_;
  const Clock& clock_;
  const DkimSigner* signer_;  // may be null: unsigned
  RenderedContent content_;  // reused between recipients
};

}  // namespace sealmail
