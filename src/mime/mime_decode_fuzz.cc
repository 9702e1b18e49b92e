// libFuzzer target for the MIME decoder. Beyond "terminates without a
// sanitizer report", it checks what callers rely on: limits hold, nothing
// grows out of proportion to the input, and the transfer decoders invert an
// encoding of the input exactly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/check.h"
#include "base/utf8.h"
#include "mime/mime_decode.h"

namespace sealmail {
namespace {

struct TreeStats {
  size_t parts = 0;
  size_t depth = 0;
  size_t bytes = 0;  // bodies, preambles, epilogues, header values
};

void Walk(const MimePart& p, size_t depth, TreeStats* s) {
  ++s->parts;
  if (depth > s->depth) s->depth = depth;
  s->bytes += p.body.size() + p.preamble.size() + p.epilogue.size();
  for (const HeaderField& h : p.headers) s->bytes += h.name.size() + h.value.size();
  SM_CHECK(p.children.empty() || p.body.empty());
  SM_CHECK(!p.content_type.empty());
  for (const MimePart& c : p.children) Walk(c, depth + 1, s);
}

void CheckMessage(std::string_view in, const DecodeLimits& limits) {
  DecodedMessage m = DecodeMessage(in, limits);
  TreeStats s;
  Walk(m.root, 0, &s);
  SM_CHECK(s.parts <= std::max<size_t>(limits.max_parts, 1));  // the root is always there
  SM_CHECK(s.depth <= limits.max_depth);
  SM_CHECK(m.defects.size() <= 101);
  // Each input byte ends up in at most one output string, and decoding only
  // shrinks: nothing is duplicated.
  SM_CHECK(s.bytes <= in.size());
}

std::string EncodeBase64(std::string_view in, size_t line) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t col = 0;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<uint8_t>(in[i + 2]);
    out.push_back(kAlphabet[v >> 18 & 63]);
    out.push_back(kAlphabet[v >> 12 & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[v >> 6 & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[v & 63] : '=');
    if (line > 0 && (col += 4) >= line) {
      out += "\r\n";
      col = 0;
    }
  }
  return out;
}

// Quoted-printable that escapes every byte outside printable ASCII (so
// white space never trails a line), with soft breaks.
std::string EncodeQuotedPrintable(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  size_t col = 0;
  for (unsigned char c : in) {
    if (col >= 72) {
      out += "=\r\n";
      col = 0;
    }
    if (c > 0x20 && c < 0x7f && c != '=') {
      out.push_back(static_cast<char>(c));
      ++col;
    } else {
      out.push_back('=');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
      col += 3;
    }
  }
  return out;
}

}  // namespace
}  // namespace sealmail

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sealmail;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  CheckMessage(in, DecodeLimits{});
  CheckMessage(in, DecodeLimits{.max_depth = 3, .max_parts = 7});

  std::string text = DecodeHeaderText(in);
  (void)text;
  MimeParamValue params = ParseMimeParams(in);
  (void)params;
  SM_CHECK(IsValidUtf8(ToUtf8("iso-8859-1", in)));

  std::string qp = DecodeQuotedPrintable(in);
  SM_CHECK(qp.size() <= in.size());
  std::string b64 = DecodeBase64(in);
  SM_CHECK(b64.size() <= in.size() * 3 / 4 + 2);

  // Round trips: decoding an encoding of the input gives the input back.
  SM_CHECK(DecodeBase64(EncodeBase64(in, 0)) == in);
  SM_CHECK(DecodeBase64(EncodeBase64(in, 76)) == in);
  SM_CHECK(DecodeQuotedPrintable(EncodeQuotedPrintable(in)) == in);
  // A base64 encoded-word carrying UTF-8 decodes to exactly that text.
  if (IsValidUtf8(in) && in.size() < 200) {
    SM_CHECK(DecodeHeaderText("=?utf-8?b?" + EncodeBase64(in, 0) + "?=") == in);
  }
  return 0;
}
