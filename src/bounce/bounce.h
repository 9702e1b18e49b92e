// Failure policy: the one place that decides what an SMTP conversation's end
// means for a recipient, a session and a destination (STYLE.md §6; Postfix's
// smtp_trouble.c). Transports report facts (where the conversation stopped,
// the reply, whether the connection was lost); this decides.
//
//  - 2xx after the final ".": delivered.
//  - 4xx anywhere, connection refused/lost/timed out before the final ".":
//    transient (retry later with exponential backoff and jitter from
//    retry_interval, given up after max_age).
//  - 421 anywhere: transient and the connection is closed; the destination
//    is slowed (the transport pauses it).
//  - 5xx to MAIL/RCPT/DATA/".": permanent for this recipient.
//  - 5xx or TLS/AUTH policy failures while opening a session: not the
//    recipient's fault; the run stops (configuration), recipients stay due.
//  - no reply after the final "." was sent: uncertain (the server may have
//    taken the message).
//  - MX delivery, any failure while opening a session (refused, hung, 4xx
//    or 5xx greeting/EHLO, TLS trouble): that host is paused and the next
//    MX host is tried; one host's trouble is neither the recipient's fault
//    nor a reason to stop the run. When no host takes it: transient.
//
// Pure functions: thread-safe, no I/O; randomness is passed in.
#pragma once

#include <cstdint>
#include <string>

namespace sealmail {

struct BounceInput {
  enum class Stage { kSession, kMail, kRcpt, kData, kDataEnd, kDone };
  Stage stage = Stage::kDone;
  int code = 0;                  // SMTP reply code; 0 = no reply
  bool connection_lost = false;  // network error, timeout, malformed reply, 421
  bool policy = false;           // TLS required but unavailable, certificate, AUTH refused
  std::string detail;            // what happened, for the operator
  // MX delivery: the session was with one of the recipient domain's MX
  // hosts, so another host may take the message (RFC 5321 §5.1).
  bool one_of_many_hosts = false;
};

struct BounceVerdict {
  enum class Kind { kDelivered, kTransient, kPermanent, kUncertain };
  enum class Scope { kRecipient, kSession, kDestination, kCampaign };
  Kind kind = Kind::kDelivered;
  Scope scope = Scope::kRecipient;
  bool close_connection = false;  // the session must not be reused
  bool pause_destination = false; // back off from the destination before trying it again
  bool stop_run = false;          // configuration problem: stop the run, leave recipients due
  bool try_next_host = false;     // MX delivery: try the domain's next MX host now
  std::string detail;
};

BounceVerdict Classify(const BounceInput& in);

struct RetryPolicy {
  int64_t retry_interval_seconds = 60;
  int64_t max_age_seconds = 3 * 86400;
};

// Seconds to wait before attempt number `attempts + 1`, when `attempts`
// attempts have failed transiently (attempts >= 1): retry_interval *
// 2^(attempts-1), capped at 1/2 max_age... then jittered by ±25% with
// `unit_random` in [0,1). Returns -1 when the recipient has been retried for
// longer than max_age (the sum of the un-jittered waits so far exceeds it):
// the transient failure becomes permanent.
int64_t RetryDelaySeconds(const RetryPolicy& p, int attempts, double unit_random);

}  // namespace sealmail
