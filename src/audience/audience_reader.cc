#include "audience/audience_reader.h"

#include <csv.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include "address/address.h"
#include "base/hash.h"
#include "base/utf8.h"

namespace sealmail {
namespace {

// A record (one CSV row, possibly spanning several lines) larger than this is
// refused as a whole-file error: no audience row is this long, and the usual
// cause is a quote that never closes, which would otherwise make libcsv buffer
// the rest of the file.
constexpr uint64_t kMaxRecordBytes = 1 << 20;
// Fields past this many in one record are counted but not stored, so that a
// line of a million commas cannot allocate a million strings.
constexpr size_t kMaxStoredFields = 4096;
// Every kCheckpointEvery-th record's position is remembered so that a
// suspected duplicate can be confirmed by re-reading the earlier row (see
// DedupeTable).
constexpr uint64_t kCheckpointEvery = 16;

std::string LineRef(const std::string& path, uint64_t line) {
  return path + ":" + std::to_string(line) + ": ";
}

// Streams CSV records out of a file with libcsv, feeding it one physical line
// (ending in LF) at a time. A record can only end on an LF or at EOF, so the
// end-of-record callback tells us the line a record ends on, and the record
// began on the first non-blank line after the previous one ended: exact line
// numbers even when quoted fields hold newlines.
//
// Dialect: RFC 4180 with libcsv's strict mode (a stray '"' is an error rather
// than a guess that silently shifts every later field). LF and CRLF line ends;
// CR counts as white space outside quoted fields, so a CRLF after a closing
// quote is fine and a CRLF inside quotes is kept as data. Unquoted fields lose
// leading and trailing spaces and tabs (libcsv's rule; quote to keep them).
// Lines holding only white space are skipped. A UTF-8 BOM at offset 0 is
// skipped.
//
// Reads with pread() so that two scanners can share one descriptor.
class CsvScanner {
 public:
  CsvScanner(int fd, const std::string& path, size_t chunk_size)
      : fd_(fd), path_(path), buf_(chunk_size) {
    InitParser();
  }
  ~CsvScanner() { csv_free(&parser_); }
  CsvScanner(const CsvScanner&) = delete;
  CsvScanner& operator=(const CsvScanner&) = delete;

  // Restarts at `offset`, which must be the start of physical line `line`
  // that is not inside a record.
  void Reset(uint64_t offset, uint64_t line) {
    csv_free(&parser_);
    InitParser();
    pos_ = len_ = 0;
    buf_offset_ = next_read_ = offset;
    eof_ = finished_ = in_record_ = record_done_ = false;
    line_ = line;
    line_offset_ = offset;
    n_fields_ = 0;
  }

  // Advances to the next record: true when there is one, false at EOF.
  // Malformed CSV and read errors are Status errors naming the line.
  Result<bool> NextRecord() {
    if (finished_) return false;
    for (;;) {
      if (pos_ == len_) {
        if (!eof_) SM_RETURN_IF_ERROR(Refill());
        if (pos_ == len_) return Finish();
      }
      const char* seg = buf_.data() + pos_;
      size_t avail = len_ - pos_;
      const void* nl = std::memchr(seg, '\n', avail);
      size_t seg_len = nl ? static_cast<size_t>(static_cast<const char*>(nl) - seg) + 1 : avail;
      if (!in_record_ && !IsBlank(std::string_view(seg, seg_len))) {
        in_record_ = true;
        record_line_ = line_;
        record_offset_ = line_offset_;
        record_bytes_ = 0;
        n_fields_ = 0;
      }
      if (in_record_) {
        record_bytes_ += seg_len;
        if (record_bytes_ > kMaxRecordBytes) {
          return Status::Invalid(LineRef(path_, record_line_) +
                                 "the row starting here is longer than 1 MiB; "
                                 "is a quoted field missing its closing '\"'?");
        }
      }
      size_t done = csv_parse(&parser_, seg, seg_len, OnField, OnRecordEnd, this);
      if (done != seg_len) return ParseError(seg, done);
      pos_ += seg_len;
      if (nl) {
        ++line_;
        line_offset_ = buf_offset_ + pos_;
      }
      if (record_done_) {
        record_done_ = in_record_ = false;
        return true;
      }
    }
  }

  uint64_t record_line() const { return record_line_; }
  // File offset of the start of record_line().
  uint64_t record_offset() const { return record_offset_; }
  // Fields in the record; only the first kMaxStoredFields are in fields().
  size_t field_count() const { return n_fields_; }
  std::vector<std::string>& fields() { return fields_; }

 private:
  void InitParser() {
    csv_init(&parser_, CSV_STRICT | CSV_STRICT_FINI);
    csv_set_space_func(&parser_, IsSpace);
    csv_set_term_func(&parser_, IsTerm);
    // libcsv grows its field buffer by this much at a time; the default (128)
    // means thousands of reallocs for one large quoted field.
    csv_set_blk_size(&parser_, 4096);
  }

  static int IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\r'; }
  static int IsTerm(unsigned char c) { return c == '\n'; }
  // Exactly the lines libcsv skips between records: nothing but IsSpace/IsTerm.
  static bool IsBlank(std::string_view s) {
    for (unsigned char c : s) {
      if (!IsSpace(c) && !IsTerm(c)) return false;
    }
    return true;
  }

  static void OnField(void* data, size_t len, void* self) {
    auto* s = static_cast<CsvScanner*>(self);
    if (s->n_fields_ < kMaxStoredFields) {
      if (s->n_fields_ == s->fields_.size()) s->fields_.emplace_back();
      // assign() into the existing string: no allocation once capacities settle.
      s->fields_[s->n_fields_].assign(data ? static_cast<const char*>(data) : "", len);
    }
    ++s->n_fields_;
  }
  static void OnRecordEnd(int, void* self) { static_cast<CsvScanner*>(self)->record_done_ = true; }

  Status Refill() {
    buf_offset_ = next_read_;
    pos_ = len_ = 0;
    ssize_t n;
    do {
      n = ::pread(fd_, buf_.data(), buf_.size(), static_cast<off_t>(next_read_));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Status::Io(path_ + ": read failed: " + std::strerror(errno));
    if (n == 0) {
      eof_ = true;
      return Status::Ok();
    }
    len_ = static_cast<size_t>(n);
    next_read_ += len_;
    if (buf_offset_ == 0) {
      std::string_view head(buf_.data(), len_);
      if (head.starts_with("\xEF\xBB\xBF")) {
        pos_ = 3;  // UTF-8 BOM, as Excel writes "CSV UTF-8"
      } else if (head.starts_with("\xFF\xFE") || head.starts_with("\xFE\xFF")) {
        return Status::Invalid(LineRef(path_, 1) +
                               "the file is UTF-16; save it as UTF-8 (\"CSV UTF-8\" in Excel)");
      }
    }
    return Status::Ok();
  }

  Result<bool> Finish() {
    finished_ = true;
    if (csv_fini(&parser_, OnField, OnRecordEnd, this) != 0) {
      return Status::Invalid(LineRef(path_, record_line_) +
                             "a quoted field starting in this row never closes: '\"' missing "
                             "before the end of the file");
    }
    if (!record_done_) return false;
    record_done_ = in_record_ = false;
    return true;
  }

  Status ParseError(const char* seg, size_t done) {
    int err = csv_error(&parser_);
    if (err != CSV_EPARSE) {
      return Status::Internal(LineRef(path_, line_) + "CSV parser: " + csv_strerror(err));
    }
    uint64_t column = buf_offset_ + pos_ + done - line_offset_ + 1;
    std::string msg = LineRef(path_, line_) + "malformed CSV at byte " + std::to_string(column) +
                      " of the line: ";
    if (seg[done] == '"' && !parser_.quoted) {
      msg += "a '\"' inside an unquoted field";
    } else {
      msg += "text after the closing '\"' of a quoted field";
    }
    msg +=
        "; to put '\"' in a field, quote the whole field and double the '\"' "
        "(\"O\"\"Brien\")";
    if (record_line_ != line_)
      msg += " (the row starts on line " + std::to_string(record_line_) + ")";
    return Status::Invalid(std::move(msg));
  }

  int fd_;
  std::string path_;
  csv_parser parser_;
  std::vector<char> buf_;
  size_t pos_ = 0;           // next unparsed byte in buf_
  size_t len_ = 0;           // valid bytes in buf_
  uint64_t buf_offset_ = 0;  // file offset of buf_[0]
  uint64_t next_read_ = 0;   // file offset of the next pread
  bool eof_ = false;
  bool finished_ = false;     // csv_fini done
  uint64_t line_ = 1;         // physical line being fed
  uint64_t line_offset_ = 0;  // file offset where line_ starts
  bool in_record_ = false;
  bool record_done_ = false;
  uint64_t record_line_ = 1;
  uint64_t record_offset_ = 0;
  uint64_t record_bytes_ = 0;
  size_t n_fields_ = 0;
  std::vector<std::string> fields_;
};

// The set of recipients seen so far, as Hash64(key) -> first line, in an
// open-addressing table of 12 bytes per slot (24 MB for a million recipients)
// instead of the keys themselves.
//
// Equal hashes are not trusted: a 64-bit collision among a million keys has a
// probability near 3e-8, but a subscriber picks their own address, and FNV is
// not collision-resistant, so a crafted address could otherwise suppress
// someone else's mail. On a hash match the caller confirms by re-reading the
// earlier row (cheap: it is at most kCheckpointEvery records past a remembered
// offset), and a colliding key gets its own slot.
class DedupeTable {
 public:
  DedupeTable() { Rehash(1024); }

  // Returns the first line whose key equals the current one (0 when none, in
  // which case `line` is recorded). same(line) says whether the row at `line`
  // has the current key.
  template <typename SameFn>
  Result<uint64_t> FindOrInsert(uint64_t hash, uint32_t line, SameFn&& same) {
    if (hash == 0) hash = 1;  // 0 marks an empty slot
    if ((size_ + 1) * 4 > slots_.size() * 3) Rehash(slots_.size() * 2);
    size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    for (; slots_[i].hash != 0; i = (i + 1) & mask) {
      if (slots_[i].hash != hash) continue;
      uint32_t earlier = slots_[i].line;
      Result<bool> is_same = same(earlier);
      if (!is_same.ok()) return is_same.status();
      if (*is_same) return uint64_t{earlier};
    }
    slots_[i] = {hash, line};
    ++size_;
    return uint64_t{0};
  }

 private:
  // Hash and line side by side: one cache miss per probe on a table that is
  // far larger than the cache. Packed to 12 bytes; x86-64 and ARM64 load the
  // misaligned hash at no real cost.
#pragma pack(push, 4)
  struct Slot {
    uint64_t hash;
    uint32_t line;
  };
#pragma pack(pop)
  static_assert(sizeof(Slot) == 12);

  void Rehash(size_t capacity) {
    std::vector<Slot> old(capacity, Slot{0, 0});
    old.swap(slots_);
    size_t mask = capacity - 1;
    for (const Slot& s : old) {
      if (s.hash == 0) continue;
      size_t i = s.hash & mask;
      while (slots_[i].hash != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

bool IsMustacheName(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A column name for messages: quoted, with control bytes made visible.
std::string Quote(std::string_view s) {
  std::string out = "'";
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      static const char kHex[] = "0123456789ABCDEF";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

}  // namespace

std::string AudienceError::ToString(const std::string& file) const {
  std::string out = LineRef(file, line);
  if (!field.empty()) out += field + ": ";
  if (reason.empty() && kind == Kind::kDuplicate) {
    out += "duplicate of line " + std::to_string(duplicate_of);
  } else {
    out += reason;
  }
  return out;
}

struct AudienceReader::Impl {
  Impl(int fd_in, std::string path_in)
      : fd(fd_in), path(std::move(path_in)), scanner(fd, path, 64 * 1024) {}
  ~Impl() { ::close(fd); }

  Status ReadHeader();
  // Validates the scanner's current record; fills *out and returns true when
  // it is accepted, records an AudienceError and returns false when refused.
  Result<bool> TakeRow(Recipient* out, Address* address);
  Result<bool> KeyAtLine(uint64_t line, const std::string& key);
  void Refuse(AudienceError e);

  int fd;
  std::string path;
  CsvScanner scanner;
  std::unique_ptr<CsvScanner> verifier;  // re-reads earlier rows; created on first use
  size_t columns = 0;
  size_t email_column = 0;
  std::string email_name;                 // the email column's header as written
  std::vector<std::string> column_names;  // every column, as written
  std::vector<std::string> field_names;   // all but the email column
  DedupeTable seen;
  // (line, offset) of every kCheckpointEvery-th data record, in file order.
  std::vector<std::pair<uint64_t, uint64_t>> checkpoints;
  uint64_t records = 0;
  std::vector<AudienceError> errors;
  std::function<void(const AudienceError&)> sink;
  AudienceSummary summary;
  Status fatal;  // once set, every later Next() returns it
  bool done = false;
};

Status AudienceReader::Impl::ReadHeader() {
  Result<bool> got = scanner.NextRecord();
  if (!got.ok()) return got.status();
  if (!*got) return Status::Invalid(LineRef(path, 1) + "the file is empty: no header row");
  const std::string at = LineRef(path, scanner.record_line());
  if (scanner.field_count() > kMaxStoredFields) {
    return Status::Invalid(at + "the header has " + std::to_string(scanner.field_count()) +
                           " columns; at most " + std::to_string(kMaxStoredFields) +
                           " are supported");
  }
  columns = scanner.field_count();
  column_names.assign(scanner.fields().begin(), scanner.fields().begin() + columns);

  std::vector<size_t> email_columns;
  for (size_t i = 0; i < columns; ++i) {
    const std::string& name = column_names[i];
    const std::string num = "column " + std::to_string(i + 1);
    if (!IsValidUtf8(name)) {
      return Status::Invalid(at + num + ": the header is not valid UTF-8; save the file as UTF-8");
    }
    if (name.find('\r') != std::string::npos) {
      return Status::Invalid(at + num + " " + Quote(name) +
                             ": holds a carriage return; lines must end in LF or CRLF, not CR "
                             "alone");
    }
    if (Lower(name) == "email") {
      email_columns.push_back(i);
      continue;
    }
    if (name.empty()) return Status::Invalid(at + num + " has no name");
    if (!IsMustacheName(name)) {
      return Status::Invalid(at + num + " " + Quote(name) +
                             ": a column name may hold only letters, digits, '_' and '-' "
                             "(it becomes a template field {{name}})");
    }
    for (size_t j = 0; j < i; ++j) {
      // Case-insensitive: {{Name}} next to {{name}} is a mistake waiting to happen.
      if (Lower(column_names[j]) == Lower(name)) {
        return Status::Invalid(at + num + " " + Quote(name) + " repeats column " +
                               std::to_string(j + 1) + " " + Quote(column_names[j]));
      }
    }
  }
  if (email_columns.size() > 1) {
    return Status::Invalid(at + "two email columns: column " +
                           std::to_string(email_columns[0] + 1) + " " +
                           Quote(column_names[email_columns[0]]) + " and column " +
                           std::to_string(email_columns[1] + 1) + " " +
                           Quote(column_names[email_columns[1]]) + "; keep exactly one");
  }
  if (email_columns.empty()) {
    std::string msg = at + "no 'email' column in the header";
    for (size_t i = 0; i < columns; ++i) {
      std::string l = Lower(TrimSpace(column_names[i]));
      if (l == "e-mail" || l == "e_mail" || l == "mail" || l == "email address" ||
          l == "email_address" || l == "e-mail address" || l == "address" || l == "email") {
        msg += "; rename column " + std::to_string(i + 1) + " " + Quote(column_names[i]) +
               " to 'email'?";
        break;
      }
    }
    return Status::Invalid(std::move(msg));
  }
  email_column = email_columns[0];
  email_name = column_names[email_column];
  for (size_t i = 0; i < columns; ++i) {
    if (i != email_column) field_names.push_back(column_names[i]);
  }
  return Status::Ok();
}

void AudienceReader::Impl::Refuse(AudienceError e) {
  // Keep the text that held the address(es): the leak guard counts every
  // address in a refused row as an audience member. Only the sink sees it.
  const std::vector<std::string>& cells = scanner.fields();
  const size_t n = scanner.field_count();
  if (n == columns) {
    e.email_cell = cells[email_column];
  } else {
    for (size_t i = 0; i < n && i < cells.size(); ++i) {
      if (i > 0) e.email_cell += ',';
      e.email_cell += cells[i];
    }
  }
  if (e.kind == AudienceError::Kind::kDuplicate) {
    ++summary.duplicates;
  } else {
    ++summary.invalid;
  }
  ++summary.rows;
  if (sink) sink(e);
  e.email_cell.clear();
  if (errors.size() < kMaxKeptErrors) errors.push_back(std::move(e));
}

Result<bool> AudienceReader::Impl::KeyAtLine(uint64_t line, const std::string& key) {
  auto after = std::upper_bound(checkpoints.begin(), checkpoints.end(),
                                std::make_pair(line, std::numeric_limits<uint64_t>::max()));
  if (after == checkpoints.begin()) {
    return Status::Internal(path + ": no checkpoint before line " + std::to_string(line));
  }
  --after;
  if (!verifier) verifier = std::make_unique<CsvScanner>(fd, path, 4096);
  verifier->Reset(after->second, after->first);
  const std::string changed = path + ": re-reading line " + std::to_string(line) +
                              " to confirm a duplicate failed; was the file changed while "
                              "it was read? ";
  for (;;) {
    Result<bool> got = verifier->NextRecord();
    if (!got.ok()) return Status::Corrupt(changed + got.status().message());
    if (!*got || verifier->record_line() > line) return Status::Corrupt(changed);
    if (verifier->record_line() < line) continue;
    if (verifier->field_count() != columns) return Status::Corrupt(changed);
    Result<Address> first = ParseAddress(verifier->fields()[email_column]);
    if (!first.ok()) return Status::Corrupt(changed + first.status().message());
    return first->Key() == key;
  }
}

Result<bool> AudienceReader::Impl::TakeRow(Recipient* out, Address* address) {
  const uint64_t line = scanner.record_line();
  std::vector<std::string>& cells = scanner.fields();
  const size_t n = scanner.field_count();
  if (n != columns) {
    std::string reason = "the row has " + std::to_string(n) + " field" + (n == 1 ? "" : "s") +
                         " but the header has " + std::to_string(columns);
    if (n > columns) reason += "; a value containing ',' must be enclosed in '\"'";
    Refuse({AudienceError::Kind::kFieldCount, line, "", std::move(reason)});
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string& cell = cells[i];
    size_t bad = FirstInvalidUtf8(cell);
    if (bad != cell.size()) {
      static const char kHex[] = "0123456789ABCDEF";
      unsigned char b = static_cast<unsigned char>(cell[bad]);
      std::string reason = "not valid UTF-8 (byte 0x";
      reason += kHex[b >> 4];
      reason += kHex[b & 15];
      reason += " at position " + std::to_string(bad + 1) +
                "); save the file as UTF-8 (\"CSV UTF-8\" in Excel)";
      Refuse({AudienceError::Kind::kEncoding, line, column_names[i], std::move(reason)});
      return false;
    }
    // Valid UTF-8 but never text: a NUL means a binary or mis-encoded file,
    // and it would truncate the value in any C string downstream.
    if (cell.find('\0') != std::string::npos) {
      Refuse({AudienceError::Kind::kEncoding, line, column_names[i],
              "contains a NUL byte; is this a text file in UTF-8?"});
      return false;
    }
  }
  const std::string& email_cell = cells[email_column];
  if (TrimSpace(email_cell).empty()) {
    Refuse({AudienceError::Kind::kEmptyEmail, line, email_name, "empty: no address in this row"});
    return false;
  }
  Result<Address> addr = ParseAddress(email_cell);
  if (!addr.ok()) {
    Refuse({AudienceError::Kind::kInvalidAddress, line, email_name, addr.status().message()});
    return false;
  }
  std::string key = addr->Key();
  if (line > std::numeric_limits<uint32_t>::max()) {
    return Status::Invalid(LineRef(path, line) +
                           "files of more than 4294967295 lines are not supported; split it");
  }
  Result<uint64_t> first =
      seen.FindOrInsert(Hash64(key), static_cast<uint32_t>(line),
                        [&](uint64_t earlier) -> Result<bool> { return KeyAtLine(earlier, key); });
  if (!first.ok()) return first.status();
  if (*first != 0) {
    AudienceError e{AudienceError::Kind::kDuplicate, line, email_name,
                    "duplicate of line " + std::to_string(*first)};
    e.duplicate_of = *first;
    Refuse(std::move(e));
    return false;
  }

  out->email = addr->ToString();
  out->key = std::move(key);
  if (address != nullptr) *address = std::move(*addr);
  out->line = line;
  out->fields.resize(field_names.size());
  size_t j = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i == email_column) continue;
    out->fields[j].first = field_names[j];
    // Swap rather than copy: the scanner overwrites its strings on the next
    // record anyway, and the buffers circulate instead of being reallocated.
    out->fields[j].second.swap(cells[i]);
    ++j;
  }
  ++summary.rows;
  ++summary.accepted;
  return true;
}

Result<std::unique_ptr<AudienceReader>> AudienceReader::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    std::string msg = path + ": cannot open: " + std::strerror(e);
    return e == ENOENT ? Status::NotFound(msg) : Status::Io(msg);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Invalid(path + ": not a regular file");
  }
  auto impl = std::make_unique<Impl>(fd, path);
  SM_RETURN_IF_ERROR(impl->ReadHeader());
  return std::unique_ptr<AudienceReader>(new AudienceReader(std::move(impl)));
}

AudienceReader::AudienceReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AudienceReader::~AudienceReader() = default;

const std::vector<std::string>& AudienceReader::field_names() const { return impl_->field_names; }

Result<bool> AudienceReader::Next(Recipient* out, Address* address) {
  Impl& m = *impl_;
  if (!m.fatal.ok()) return m.fatal;
  while (!m.done) {
    Result<bool> got = m.scanner.NextRecord();
    if (!got.ok()) {
      m.fatal = got.status();
      return m.fatal;
    }
    if (!*got) {
      m.done = true;
      break;
    }
    if (m.records++ % kCheckpointEvery == 0) {
      m.checkpoints.emplace_back(m.scanner.record_line(), m.scanner.record_offset());
    }
    Result<bool> taken = m.TakeRow(out, address);
    if (!taken.ok()) {
      m.fatal = taken.status();
      return m.fatal;
    }
    if (*taken) return true;
  }
  return false;
}

void AudienceReader::set_error_sink(std::function<void(const AudienceError&)> sink) {
  impl_->sink = std::move(sink);
}
const std::vector<AudienceError>& AudienceReader::errors() const { return impl_->errors; }
const AudienceSummary& AudienceReader::summary() const { return impl_->summary; }
const std::string& AudienceReader::path() const { return impl_->path; }

}  // namespace sealmail
