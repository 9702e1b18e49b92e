// Charset conversion to UTF-8 through glibc iconv (STYLE.md §16: the library
// that already does it). iconv descriptors are costly to open and not
// thread-safe, so each thread keeps its own open ones.
#include <errno.h>
#include <iconv.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "mime/mime_decode.h"
#include "mime/mime_decode_internal.h"

namespace sealmail {
namespace {

using mime_internal::AsciiLowerCopy;
using mime_internal::TrimWsp;

const iconv_t kNoIconv = reinterpret_cast<iconv_t>(-1);

// Names mail uses that glibc does not know, mapped to ones it does.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"ks_c_5601-1987", "CP949"},  // Outlook's name for Korean
    {"x-mac-roman", "MACINTOSH"},   {"x-sjis", "SHIFT_JIS"},
    {"x-euc-jp", "EUC-JP"},         {"x-gbk", "GBK"},
    {"unicode-1-1-utf-7", "UTF-7"},
};

bool PassesThrough(std::string_view name) {
  return name.empty() || name == "utf-8" || name == "utf8" || name == "us-ascii" ||
         name == "ascii" || name == "ansi_x3.4-1968" || name == "ansi-x3.4-1968" ||
         name == "iso646-us" || name == "us";
}

// Charset names come from untrusted headers: only the characters of real
// charset names reach iconv_open, and no "//" conversion options.
bool PlausibleName(std::string_view name) {
  if (name.size() > 40) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':' || c == '+';
    if (!ok) return false;
  }
  return true;
}

// Opening a descriptor loads a gconv module, and closing the last one of a
// charset unloads it again: about 0.5 ms per open/close pair, so evicting
// descriptors would let a header that cycles through charsets cost that per
// encoded-word. Kept descriptors are never closed before the thread ends;
// the set is bounded by the names glibc knows (about 1,200), each a few
// hundred bytes, the modules shared by all threads.
class IconvCache {
 public:
  ~IconvCache() {
    for (auto& [name, cd] : open_) iconv_close(cd);
  }

  // A descriptor from `name` to UTF-8 in its initial state, or kNoIconv.
  // *owned is true when the caller must close it (the cache is full).
  iconv_t Get(const std::string& name, bool* owned) {
    *owned = false;
    auto it = open_.find(name);
    if (it != open_.end()) {
      iconv(it->second, nullptr, nullptr, nullptr, nullptr);  // reset shift state
      return it->second;
    }
    // Unknown names are not cached: failing is cheap, and their number is
    // unbounded.
    iconv_t cd = iconv_open("UTF-8", name.c_str());
    if (cd == kNoIconv) return cd;
    if (open_.size() >= kMaxEntries) {
      *owned = true;
      return cd;
    }
    open_.emplace(name, cd);
    return cd;
  }

 private:
  static constexpr size_t kMaxEntries = 2048;
  std::unordered_map<std::string, iconv_t> open_;
};

}  // namespace

std::string ToUtf8(std::string_view charset, std::string_view bytes) {
  std::string name = AsciiLowerCopy(TrimWsp(charset));
  if (PassesThrough(name) || !PlausibleName(name)) return std::string(bytes);
  for (const auto& [alias, real] : kAliases) {
    if (name == alias) name = std::string(real);
  }
  thread_local IconvCache cache;
  bool owned = false;
  iconv_t cd = cache.Get(name, &owned);
  if (cd == kNoIconv) return std::string(bytes);

  std::string out(bytes.size() * 2 + 16, '\0');
  size_t used = 0;
  char* in = const_cast<char*>(bytes.data());  // iconv's API is not const-correct
  size_t in_left = bytes.size();
  bool flushing = false;  // all input read; emit the final shift sequence
  while (true) {
    if (out.size() - used < 16) out.resize(out.size() * 2);
    char* dst = out.data() + used;
    size_t out_left = out.size() - used;
    size_t rc = flushing ? iconv(cd, nullptr, nullptr, &dst, &out_left)
                         : iconv(cd, &in, &in_left, &dst, &out_left);
    int err = errno;
    used = out.size() - out_left;
    if (rc != static_cast<size_t>(-1)) {
      if (flushing) break;
      flushing = true;
    } else if (err == E2BIG) {
      out.resize(out.size() * 2);
    } else if (flushing) {
      break;
    } else {
      // EILSEQ: mark the bad byte and go on after it. EINVAL: the input ends
      // inside a character; mark it and stop.
      out.replace(used, 3, "\xEF\xBF\xBD");  // U+FFFD
      used += 3;
      if (err == EILSEQ) {
        ++in;
        --in_left;
      } else {
        flushing = true;
      }
    }
  }
  if (owned) iconv_close(cd);
  out.resize(used);
  return out;
}

}  // namespace sealmail
