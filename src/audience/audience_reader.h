// AudienceReader: streams an audience CSV (RFC 4180, UTF-8, optional BOM) into
// validated Recipients, one at a time, in bounded memory (the file is read in
// chunks; only a de-duplication set of 64-bit keys grows with the row count).
//
// The header row names the columns; an `email` column (case-insensitive) is
// required; every other column becomes a merge field under its header name.
// Rows that cannot be used (bad address, wrong field count, invalid UTF-8,
// duplicate of an earlier row after normalisation) are reported with their
// line number and kept out; the rest proceed. Structural problems that make
// the rest of the file unreadable (an unterminated quoted field, a stray '"',
// a row over 1 MiB, a missing email column, a bad column name, an unreadable
// file) fail the whole read with a Status naming file and line.
//
// Dialect (parsed by libcsv in strict mode): LF or CRLF line ends; lines of
// only white space are skipped; unquoted fields lose surrounding spaces and
// tabs, quoted fields are kept exactly (embedded commas, "" and newlines).
// Line numbers are physical lines, so a row after a multi-line quoted field
// carries the line a text editor shows. Column names are letters, digits,
// '_' and '-', unique ignoring case.
//
// Memory: besides one row, the de-duplication set holds 12 bytes per
// accepted recipient, plus one remembered file position per 16 rows used to
// confirm a suspected duplicate by re-reading the earlier row (so a 64-bit
// hash collision never drops a recipient). The file must therefore be a
// regular file that does not change while it is read.
//
// Not thread-safe: one reader per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "address/address.h"
#include "base/status.h"
#include "model/recipient.h"

namespace sealmail {

// One refused row.
struct AudienceError {
  enum class Kind { kInvalidAddress, kDuplicate, kFieldCount, kEncoding, kEmptyEmail };
  Kind kind;
  uint64_t line = 0;         // 1-based physical line where the row starts
  std::string field;         // column name the problem is in ("email", ...), may be empty
  std::string reason;        // e.g. "contains ',': more than one address?"
  uint64_t duplicate_of = 0; // for kDuplicate: line of the first occurrence
  // The raw email cell (or the whole row when the field count is wrong).
  // Given to the error sink only, for the leak guard, which treats every
  // address in it as an audience member; never printed, not kept in errors().
  std::string email_cell = {};
  std::string ToString(const std::string& file) const;  // "file:line: field: reason"
};

struct AudienceSummary {
  uint64_t rows = 0;        // data rows read (header excluded, blank lines excluded)
  uint64_t accepted = 0;
  uint64_t invalid = 0;     // all refusals except duplicates
  uint64_t duplicates = 0;
};

class AudienceReader {
 public:
  // Opens the file and reads the header row.
  static Result<std::unique_ptr<AudienceReader>> Open(const std::string& path);
  ~AudienceReader();
  AudienceReader(const AudienceReader&) = delete;
  AudienceReader& operator=(const AudienceReader&) = delete;

  // Merge-field column names in file order (the email column excluded).
  const std::vector<std::string>& field_names() const;

  // Fills *out with the next accepted recipient and returns true; returns
  // false at the end of the file. Refused rows are recorded and skipped.
  // With `address`, also the parsed address the row was accepted with (so a
  // caller that needs it does not parse it a second time).
  Result<bool> Next(Recipient* out, Address* address = nullptr);

  // Called for every refused row as it is found (in addition to errors()).
  void set_error_sink(std::function<void(const AudienceError&)> sink);
  // The first kMaxKeptErrors refused rows; summary() counts them all.
  static constexpr size_t kMaxKeptErrors = 1000;
  const std::vector<AudienceError>& errors() const;
  const AudienceSummary& summary() const;
  const std::string& path() const;

 private:
  struct Impl;
  explicit AudienceReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sealmail
