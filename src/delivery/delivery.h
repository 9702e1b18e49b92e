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

// Where composing time goes (monotonic nanoseconds on the Composer's clock,
// summed over messages): for `send --json` and bench/.
struct ComposeStats {
  int64_t render_ns = 0;  // templates
  int64_t mime_ns = 0;    // MIME building and encoding
  int64_t dkim_ns = 0;    // signing
  int64_t guard_ns = 0;   // the leak guard
  uint64_t messages = 0;
  uint64_t proofs_reused = 0;  // messages the guard passed on an earlier proof (GuardProofs)
  void Add(const ComposeStats& o) {
    render_ns += o.render_ns;
    mime_ns += o.mime_ns;
    dkim_ns += o.dkim_ns;
    guard_ns += o.guard_ns;
    messages += o.messages;
    proofs_reused += o.proofs_reused;
  }
};

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

  // Proofs of the guard (GuardProofs): remember those of passing messages
  // (send's preflight), or reuse them (sealed; the send phase). At most one.
  // Both must outlive the Composer.
  void set_proofs(GuardProofs* remember, const GuardProofs* reuse) {
    remember_ = remember;
    reuse_ = reuse;
  }

  // The campaign's own addresses: what may appear in From/Reply-To/Sender.
  static std::vector<std::string> SenderAddresses(const Campaign& c);

  const ComposeStats& stats() const { return stats_; }

 private:
  const Campaign& campaign_;
  TemplateRenderer renderer_;
  const Guard& guard_;
  const Clock& clock_;
  const DkimSigner* signer_;  // may be null: unsigned
  GuardProofs* remember_ = nullptr;
  const GuardProofs* reuse_ = nullptr;
  RenderedContent content_;  // reused between recipients
  size_t last_bytes_ = 0;    // of the last message built
  ComposeStats stats_;
};

}  // namespace sealmail
