// File helpers: whole-file reads and atomic writes. Every error names the path
// and the operating system's reason.
//
// Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace sealmail {

// Reads the whole file. Fails with kNotFound or kIo naming the path.
Result<std::string> ReadFile(const std::string& path);

// Writes data to path atomically: a temp file in the same directory, fsync,
// rename over path, fsync of the directory. A crash leaves either the old file
// or the complete new one, never a partial file.
Status WriteFileAtomic(const std::string& path, std::string_view data);

// Creates a directory and its parents (mode 0700 when private is true).
Status MakeDirs(const std::string& path, bool private_dir = false);

// "<dir>/<rel>" unless rel is absolute.
std::string ResolvePath(const std::string& dir, const std::string& rel);

}  // namespace sealmail
