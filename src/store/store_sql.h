// SQL text the SQLite store shares with its tests.
#pragma once

namespace sealmail::store_sql {

// The rows recipients_due holds (schema 9): those a lease can take. SQLite
// uses a partial index only for a query whose WHERE has the index's WHERE as
// one of its AND terms, so every query meant to walk recipients_due carries
// this term, verbatim. ORs, not an IN list: SQLite evaluates IN (...) through
// a temporary table built for every execution of the statement, and the
// outcome UPDATE runs once per message (issue #9).
inline constexpr const char* kDueRows = "(state=0 OR state=1 OR state=3 OR state=7)";

}  // namespace sealmail::store_sql
