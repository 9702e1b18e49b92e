#include "smtp/smtp_reply.h"

namespace sealmail {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "x.y.z" with x in 2,4,5, y 1-3 digits, z 1-3 digits (RFC 3463 §2).
size_t EnhancedLength(std::string_view t) {
  if (t.size() < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5') || t[1] != '.') return 0;
  size_t i = 2, n = 0;
  while (i < t.size() && IsDigit(t[i]) && n < 3) ++i, ++n;
  if (n == 0 || i >= t.size() || t[i] != '.') return 0;
  ++i;
  n = 0;
  while (i < t.size() && IsDigit(t[i]) && n < 3) ++i, ++n;
  if (n == 0) return 0;
  if (i < t.size() && t[i] != ' ') return 0;
  return i;
}

SmtpParse Malformed(SmtpReply* out, std::string why) {
  out->code = 0;
  out->enhanced.clear();
  out->lines.assign(1, std::move(why));
  return SmtpParse::kMalformed;
}

}  // namespace

std::string SmtpReply::ToString() const {
  std::string s = std::to_string(code);
  if (!enhanced.empty()) s += " " + enhanced;
  for (size_t i = 0; i < lines.size(); ++i) {
    s += i == 0 ? " " : " / ";
    s += lines[i];
  }
  return s;
}

SmtpParse ParseSmtpReply(std::string_view in, SmtpReply* out, size_t* consumed) {
  *consumed = 0;
  SmtpReply r;
  size_t pos = 0;
  for (;;) {
    size_t eol = in.find('\n', pos);
    if (eol == std::string_view::npos) {
      if (in.size() - pos > 4096 || in.size() > kMaxSmtpReplyBytes) {
        return Malformed(out, "reply line too long");
      }
      return SmtpParse::kNeedMore;
    }
    if (eol + 1 > kMaxSmtpReplyBytes) return Malformed(out, "reply too long");
    std::string_view line = in.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    if (line.size() < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2])) {
      return Malformed(out, "reply line without a status code");
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code < 200 || code > 599) return Malformed(out, "status code out of range");
    if (r.code != 0 && code != r.code) {
      return Malformed(out, "status code changes inside a multi-line reply");
    }
    r.code = code;
    bool last = true;
    std::string_view text;
    if (line.size() > 3) {
      if (line[3] == '-') last = false;
      else if (line[3] != ' ') return Malformed(out, "expected ' ' or '-' after the status code");
      text = line.substr(4);
    }
    if (r.lines.empty()) {
      size_t n = EnhancedLength(text);
      if (n > 0 && text[0] == line[0]) {
        r.enhanced = std::string(text.substr(0, n));
        text.remove_prefix(n);
        while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
      }
    } else if (!r.enhanced.empty() && text.substr(0, r.enhanced.size()) == r.enhanced) {
      // Continuation lines repeat the enhanced code; keep the text only.
      text.remove_prefix(r.enhanced.size());
      while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    }
    r.lines.emplace_back(text);
    if (last) break;
  }
  *out = std::move(r);
  *consumed = pos;
  return SmtpParse::kDone;
}

std::string DotStuff(std::string_view m) {
  std::string out;
  out.reserve(m.size() + m.size() / 64 + 8);
  // Line by line (memchr for the LF): a line that starts with '.' gets
  // another; a bare LF becomes CRLF; the rest is copied as it is.
  bool bol = true;
  size_t i = 0;
  while (i < m.size()) {
    if (m[i] == '.') out += '.';
    size_t nl = m.find('\n', i);
    if (nl == std::string_view::npos) {
      out.append(m.substr(i));
      bol = false;
      break;
    }
    if (nl == 0 || m[nl - 1] != '\r') {
      out.append(m.substr(i, nl - i));
      out += "\r\n";
    } else {
      out.append(m.substr(i, nl + 1 - i));
    }
    i = nl + 1;
  }
  if (!bol) out += "\r\n";
  out += ".\r\n";
  return out;
}

bool HasEightBit(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  // 64 bytes at a time, OR-ed together (the compiler vectorises the block).
  for (; i + 64 <= s.size(); i += 64) {
    unsigned char acc = 0;
    for (size_t k = 0; k < 64; ++k) acc |= p[i + k];
    if (acc & 0x80) return true;
  }
  for (; i < s.size(); ++i) {
    if (p[i] & 0x80) return true;
  }
  return false;
}

bool NeedsSmtpUtf8(std::string_view message, std::string_view from, std::string_view rcpt) {
  if (HasEightBit(from) || HasEightBit(rcpt)) return true;
  size_t end = message.find("\r\n\r\n");
  return HasEightBit(message.substr(0, end == std::string_view::npos ? message.size() : end));
}

}  // namespace sealmail
