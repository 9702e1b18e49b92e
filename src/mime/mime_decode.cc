// MIME structure walk: headers, multipart boundaries (RFC 2046 §5.1) and
// encapsulated messages, in one pass over the input.
//
// The input is read line by line with a stack of the boundaries of every
// enclosing multipart; a line that is a boundary of any of them ends the
// content being read (RFC 2046 §5.1.2: an inner part cannot contain an outer
// boundary), and the outermost match wins, as in Python's email parser. Each
// line is tested against at most max_depth boundaries, and only lines that
// start with "--" are tested at all, so decoding stays linear in the input.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mime/mime_decode.h"
#include "mime/mime_decode_internal.h"

namespace sealmail {

using mime_internal::EqualsIgnoreCase;
using mime_internal::IsWsp;

const HeaderField* MimePart::Find(std::string_view name) const {
  for (const HeaderField& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

std::string MimePart::Param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

namespace {

// DecodeLimits bound the work; this bounds the C++ stack whatever a caller
// passes (each level is a few recursive frames).
constexpr size_t kHardMaxDepth = 256;
// A hostile message can have a defect in every part; the list stays readable.
constexpr size_t kMaxDefects = 100;

constexpr size_t kNpos = std::string_view::npos;

// What ends the content being read at a line start.
struct Stop {
  enum Kind { kNone, kEof, kBoundary };
  Kind kind = kNone;
  size_t level = 0;    // kBoundary: index in the boundary stack (0 = outermost)
  bool close = false;  // kBoundary: "--boundary--"
};

// State shared by a message and any message decoded out of a transfer
// encoding inside it, so limits hold for the whole input.
struct Budget {
  size_t max_depth;
  size_t max_parts;
  size_t parts = 0;
  size_t dropped_defects = 0;
  std::vector<std::string>* defects;
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Report types that hold header-like fields, not a message (RFC 3464, 8098):
// kept whole as one leaf so a consumer sees all their text.
bool IsEncapsulatedMessage(std::string_view type) {
  if (!StartsWith(type, "message/")) return false;
  std::string_view sub = type.substr(8);
  return sub != "delivery-status" && sub != "global-delivery-status" &&
         sub != "disposition-notification" && sub != "global-disposition-notification" &&
         sub != "partial";  // a fragment, not a message
}

// type "/" subtype, both non-empty, no controls or spaces (RFC 2045 §5.1).
bool IsValidContentType(std::string_view t) {
  size_t slash = t.find('/');
  if (slash == kNpos || slash == 0 || slash + 1 == t.size()) return false;
  if (t.find('/', slash + 1) != kNpos) return false;
  for (char c : t) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string ChildPath(const std::string& parent, size_t n) {
  return parent.empty() ? std::to_string(n) : parent + "." + std::to_string(n);
}

class Parser {
 public:
  Parser(std::string_view data, Budget* budget) : data_(data), budget_(budget) {}

  MimePart ParsePart(size_t depth, std::string_view default_type, const std::string& path) {
    MimePart part;
    ++budget_->parts;
    ParseHeaders(&part, path);

    if (const HeaderField* ct = part.Find("Content-Type")) {
      MimeParamValue v = ParseMimeParams(ct->value);
      if (IsValidContentType(v.value)) {
        part.content_type = std::move(v.value);
      } else {
        // RFC 2045 §5.2: an invalid Content-Type means text/plain.
        part.content_type = "text/plain";
        Defect(path, "invalid Content-Type, read as text/plain");
      }
      part.params = std::move(v.params);
    } else {
      part.content_type = std::string(default_type);
    }
    part.transfer_encoding = "7bit";
    if (const HeaderField* cte = part.Find("Content-Transfer-Encoding")) {
      MimeParamValue v = ParseMimeParams(cte->value);
      if (!v.value.empty()) part.transfer_encoding = std::move(v.value);
    }

    if (StartsWith(part.content_type, "multipart/")) {
      // RFC 2046 5.1.1: a boundary may begin, but not end, with a space.
      std::string boundary = part.Param("boundary");
      while (!boundary.empty() && IsWsp(boundary.back())) boundary.pop_back();
      if (boundary.empty()) {
        Defect(path, "multipart without boundary parameter, kept as one leaf");
        ReadLeaf(&part, path, /*transfer_decode=*/true);
      } else if (depth >= budget_->max_depth) {
        Defect(path, "nesting deeper than the limit, kept undecoded");
        ReadLeaf(&part, path, /*transfer_decode=*/false);
      } else {
        if (part.transfer_encoding != "7bit" && part.transfer_encoding != "8bit" &&
            part.transfer_encoding != "binary") {
          Defect(path, "multipart with Content-Transfer-Encoding " + part.transfer_encoding);
        }
        ParseMultipart(&part, boundary, depth, path);
      }
    } else if (IsEncapsulatedMessage(part.content_type)) {
      if (depth >= budget_->max_depth) {
        Defect(path, "nesting deeper than the limit, kept undecoded");
        ReadLeaf(&part, path, /*transfer_decode=*/false);
      } else if (budget_->parts >= budget_->max_parts) {
        Defect(path, "more parts than the limit, kept undecoded");
        ReadLeaf(&part, path, /*transfer_decode=*/false);
      } else {
        ParseEncapsulated(&part, depth, path);
      }
    } else {
      ReadLeaf(&part, path, /*transfer_decode=*/true);
    }
    return part;
  }

 private:
  // Just past the end of the line that starts at p.
  size_t LineEnd(size_t p) const {
    size_t nl = data_.find('\n', p);
    return nl == kNpos ? data_.size() : nl + 1;
  }

  // The line [p, end) without its terminator.
  std::string_view LineContent(size_t p, size_t end) const {
    std::string_view line = data_.substr(p, end - p);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }

  // For a line at p that starts with "--": what follows the dashes, without
  // trailing white space (RFC 2046 allows transport padding there).
  std::string_view BoundaryCandidate(size_t p) const {
    std::string_view line = LineContent(p, LineEnd(p));
    while (!line.empty() && IsWsp(line.back())) line.remove_suffix(1);
    return line.substr(2);
  }

  static bool Matches(std::string_view candidate, std::string_view boundary, bool* close) {
    if (candidate == boundary) {
      *close = false;
      return true;
    }
    if (candidate.size() == boundary.size() + 2 && StartsWith(candidate, boundary) &&
        candidate.substr(boundary.size()) == "--") {
      *close = true;
      return true;
    }
    return false;
  }

  bool IsDashLine(size_t p) const {
    return p + 1 < data_.size() && data_[p] == '-' && data_[p + 1] == '-';
  }

  // What stops reading at line start p: the end of the input or a boundary
  // line of an enclosing multipart (the outermost that matches).
  Stop StopAt(size_t p) const {
    Stop s;
    if (p >= data_.size()) {
      s.kind = Stop::kEof;
      return s;
    }
    if (bounds_.empty() || !IsDashLine(p)) return s;
    std::string_view candidate = BoundaryCandidate(p);
    for (size_t level = 0; level < bounds_.size(); ++level) {
      if (Matches(candidate, bounds_[level], &s.close)) {
        s.kind = Stop::kBoundary;
        s.level = level;
        return s;
      }
    }
    return s;
  }

  // Moves pos_ to the next line that starts with "--" (or the end).
  void NextDashLine() {
    size_t q = data_.find("\n--", pos_);
    pos_ = q == kNpos ? data_.size() : q + 1;
  }

  // Moves pos_ to the next stop and returns it.
  Stop SkipToStop() {
    if (bounds_.empty()) pos_ = data_.size();
    while (true) {
      Stop s = StopAt(pos_);
      if (s.kind != Stop::kNone) return s;
      NextDashLine();
    }
  }

  // End of content that started at `start` and runs to the stop at pos_. The
  // line break before a boundary belongs to the boundary (RFC 2046 §5.1.1);
  // at the end of the input inside a multipart the last line break is
  // dropped as well (a missing closing boundary), as Python's parser does.
  size_t ContentEnd(size_t start, const Stop& stop) const {
    size_t end = pos_;
    bool trim = stop.kind == Stop::kBoundary || !bounds_.empty();
    if (trim && end > start && data_[end - 1] == '\n') {
      --end;
      if (end > start && data_[end - 1] == '\r') --end;
    }
    return end;
  }

  void Defect(const std::string& path, std::string what) {
    if (budget_->defects->size() >= kMaxDefects) {
      ++budget_->dropped_defects;
      return;
    }
    budget_->defects->push_back((path.empty() ? "message" : "part " + path) + ": " +
                                std::move(what));
  }

  void ParseHeaders(MimePart* part, const std::string& path) {
    // One allocation for a usual header block instead of a vector growing
    // 1, 2, 4, 8, 16 (moving its strings each time) (issue #9).
    part->headers.reserve(16);
    bool first = true;
    bool have_field = false;
    while (StopAt(pos_).kind == Stop::kNone) {
      size_t end = LineEnd(pos_);
      std::string_view line = LineContent(pos_, end);
      if (line.empty()) {  // the blank line before the body
        pos_ = end;
        return;
      }
      if (IsWsp(line[0])) {
        if (!have_field) {
          // Kept as a nameless field rather than dropped: no text may vanish.
          Defect(path, "header block starts with a continuation line");
          part->headers.push_back({"", ""});
          have_field = true;
        }
        std::string& value = part->headers.back().value;
        if (value.empty()) {
          while (!line.empty() && IsWsp(line.front())) line.remove_prefix(1);
        }
        value.append(line);  // unfolding: the line break goes, the WSP stays
      } else if (first && StartsWith(line, "From ")) {
        // mbox envelope line ("From sender date"), not a header field.
      } else {
        // Field name: printable ASCII except ':' (RFC 5322 §2.2).
        size_t colon = 0;
        while (colon < line.size() && line[colon] > 0x20 && line[colon] < 0x7f &&
               line[colon] != ':') {
          ++colon;
        }
        if (colon == line.size() || line[colon] != ':') {
          // No colon: the body starts here (missing blank line).
          Defect(path, "header line without colon; body starts there");
          return;
        }
        if (colon == 0) Defect(path, "header field without a name");
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && IsWsp(value.front())) value.remove_prefix(1);
        part->headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
        have_field = true;
      }
      first = false;
      pos_ = end;
    }
  }

  void ReadLeaf(MimePart* part, const std::string& path, bool transfer_decode) {
    size_t start = pos_;
    Stop stop = SkipToStop();
    std::string_view raw = data_.substr(start, ContentEnd(start, stop) - start);
    if (!transfer_decode) {
      part->body = std::string(raw);
      return;
    }
    bool known = true;
    part->body = mime_internal::TransferDecode(part->transfer_encoding, raw, &known);
    if (!known) {
      Defect(path, "unknown Content-Transfer-Encoding " + part->transfer_encoding + ", kept as is");
    }
  }

  void ParseEncapsulated(MimePart* part, size_t depth, const std::string& path) {
    std::string child_path = ChildPath(path, 1);
    const std::string& cte = part->transfer_encoding;
    if (cte == "7bit" || cte == "8bit" || cte == "binary") {
      part->children.push_back(ParsePart(depth + 1, "text/plain", child_path));
      return;
    }
    // RFC 2046 §5.2.1 forbids encoding a message/rfc822 body, but senders do;
    // decode it so its content is not hidden from the caller.
    size_t start = pos_;
    Stop stop = SkipToStop();
    bool known = true;
    std::string inner = mime_internal::TransferDecode(
        cte, data_.substr(start, ContentEnd(start, stop) - start), &known);
    Defect(path, "encapsulated message with Content-Transfer-Encoding " + cte);
    Parser nested(inner, budget_);
    part->children.push_back(nested.ParsePart(depth + 1, "text/plain", child_path));
  }

  void ParseMultipart(MimePart* part, const std::string& boundary, size_t depth,
                      const std::string& path) {
    std::string_view child_type =
        part->content_type == "multipart/digest" ? "message/rfc822" : "text/plain";
    // Preamble: up to our first delimiter line.
    size_t start = pos_;
    Stop stop;
    bool opened = false, closed_early = false;
    while (true) {
      stop = StopAt(pos_);
      if (stop.kind != Stop::kNone) break;
      bool close = false;
      if (IsDashLine(pos_) && Matches(BoundaryCandidate(pos_), boundary, &close)) {
        (close ? closed_early : opened) = true;
        stop.kind = Stop::kBoundary;
        break;
      }
      NextDashLine();
    }
    if (!opened) {
      // No part at all: like a receiving client, show the text as the body.
      Defect(path, "multipart without opening boundary, kept as one leaf");
      size_t end = ContentEnd(start, stop);
      bool known = true;
      part->body = mime_internal::TransferDecode(part->transfer_encoding,
                                                 data_.substr(start, end - start), &known);
      if (closed_early) {
        pos_ = LineEnd(pos_);
        ReadEpilogue(part);
      }
      return;
    }
    part->preamble = std::string(data_.substr(start, ContentEnd(start, stop) - start));

    bounds_.push_back(boundary);
    const size_t own = bounds_.size() - 1;
    bool closed = false, truncated = false;
    size_t n = 0;
    while (true) {
      // pos_ is at one of our delimiter lines. Repeated delimiter lines make
      // no empty parts (as Python's parser).
      do {
        pos_ = LineEnd(pos_);
        stop = StopAt(pos_);
      } while (stop.kind == Stop::kBoundary && stop.level == own && !stop.close);
      if (stop.kind == Stop::kBoundary && stop.level == own) {
        closed = true;
        pos_ = LineEnd(pos_);
        break;
      }
      if (budget_->parts >= budget_->max_parts) {
        truncated = true;
        break;
      }
      part->children.push_back(ParsePart(depth + 1, child_type, ChildPath(path, ++n)));
      stop = StopAt(pos_);
      if (stop.kind == Stop::kBoundary && stop.level == own) {
        if (stop.close) {
          closed = true;
          pos_ = LineEnd(pos_);
          break;
        }
        continue;
      }
      break;  // the end of the input, or an enclosing boundary
    }
    bounds_.pop_back();
    if (truncated) {
      // The rest stays undecoded, in the epilogue, where a caller still sees it.
      Defect(path, "more parts than the limit, rest kept undecoded in the epilogue");
      ReadEpilogue(part);
    } else if (closed) {
      ReadEpilogue(part);
    } else {
      Defect(path, "multipart without closing boundary");
    }
  }

  void ReadEpilogue(MimePart* part) {
    size_t start = pos_;
    Stop stop = SkipToStop();
    part->epilogue = std::string(data_.substr(start, ContentEnd(start, stop) - start));
  }

  std::string_view data_;
  size_t pos_ = 0;                   // always at a line start (or the end)
  std::vector<std::string> bounds_;  // boundaries of the enclosing multiparts
  Budget* budget_;
};

}  // namespace

DecodedMessage DecodeMessage(std::string_view bytes, const DecodeLimits& limits) {
  DecodedMessage out;
  Budget budget{std::min(limits.max_depth, kHardMaxDepth), limits.max_parts, 0, 0, &out.defects};
  Parser parser(bytes, &budget);
  out.root = parser.ParsePart(0, "text/plain", "");
  if (budget.dropped_defects > 0) {
    out.defects.push_back(std::to_string(budget.dropped_defects) + " more defects not listed");
  }
  return out;
}

}  // namespace sealmail
