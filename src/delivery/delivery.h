// Composer: one recipient's path from merge fields to a guarded message
// (template -> mime -> guard; DKIM joins in issue #4). Never touches the
// store; the caller records outcomes.
//
// Not thread-safe (owns a TemplateRenderer); make one per thread.
#pragma once

#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/campaign.h"
#include "guard/guard.h"
#include "model/recipient.h"
#include "template/template_renderer.h"
#include "transport/transport.h"

namespace sealmail {

class Composer {
 public:
  // campaign and guard must outlive the Composer.
  Composer(const Campaign& campaign, TemplateRenderer renderer, const Guard& guard,
           const Clock& clock);

  // The message's bytes before the guard (for diagnostics and tests only:
  // they cannot reach a transport without Compose).
  Result<std::string> Render(const Recipient& r, std::string* message_id);

  // Renders, builds and guards. kInvalid: the recipient's merge values cannot
  // make a valid message (reason names line and field). kBlocked: the leak
  // guard refused; *violations says why.
  Result<GuardedMessage> Compose(const Recipient& r, std::vector<GuardViolation>* violations);

  // The campaign's own addresses: what may appear in From/Reply-To/Sender.
  static std::vector<std::string> SenderAddresses(const Campaign& c);

 private:
  const Campaign& campaign_;
  TemplateRenderer renderer_;
  const Guard& guard_;
  const Clock& clock_;
  RenderedContent content_;  // reused between recipients
};

}  // namespace sealmail
