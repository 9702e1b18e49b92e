// libFuzzer target for the blobs a state file holds: a lease row's recipient
// ids (lease_batches.ids) and a recipient's merge fields (recipients.fields)
// are replaced by the input's bytes in an otherwise valid state, which the
// store then opens and uses as `send` and `status` do. Whatever the bytes,
// every call returns (an error for what does not decode, never a crash, a
// hang or a guess), and counts that come back add up to the three
// recipients the state holds.
//
// Input: one length byte L, then L bytes of ids (fewer when the input is
// shorter), then the fields blob.
#include <sqlite3.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "store/store.h"

namespace {

using namespace sealmail;

const std::string& Path() {
  static const std::string p = (std::filesystem::temp_directory_path() /
                                ("sm_store_fuzz_" + std::to_string(::getpid()) + ".db"))
                                   .string();
  return p;
}

void RemoveState() {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(Path() + suffix);
}

// A state with campaign "c1", three recipients and one batch of two leased,
// made once; each input starts from a copy of its bytes.
const std::string& Template() {
  static const std::string bytes = [] {
    RemoveState();
    std::atexit(RemoveState);  // libFuzzer ends with exit()
    FakeClock clock{1795608950};
    {
      auto store = OpenSqliteStore(Path(), &clock);
      if (!store.ok() || !(*store)->BindCampaign("c1", true, true).ok()) std::abort();
      std::vector<Recipient> rs(3);
      for (int i = 0; i < 3; ++i) {
        rs[i].email = rs[i].key = "u" + std::to_string(i) + "@example.com";
        rs[i].line = static_cast<uint64_t>(i + 2);
        rs[i].fields = {{"first_name", "Jo"}};
      }
      if (!(*store)->AddRecipients(rs).ok() || (*store)->Lease(2, true)->size() != 2) std::abort();
    }  // the last connection closes: the WAL is folded into the file
    std::ifstream in(Path(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  return bytes;
}

void CheckCounts(const Result<StateCounts>& c) {
  if (!c.ok()) return;
  const uint64_t sum = c->pending + c->leased + c->sent + c->deferred + c->failed + c->suppressed +
                       c->blocked + c->uncertain;
  if (c->total != 3 || sum != 3) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t ids_len = std::min<size_t>(data[0], size - 1);
  const uint8_t* ids = data + 1;
  const uint8_t* fields = ids + ids_len;
  const size_t fields_len = size - 1 - ids_len;

  const std::string& bytes = Template();
  RemoveState();
  {
    std::ofstream out(Path(), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(Path().c_str(), &db) != SQLITE_OK) std::abort();
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "UPDATE lease_batches SET ids=?", -1, &st, nullptr);
  sqlite3_bind_blob(st, 1, ids, static_cast<int>(ids_len), SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE) std::abort();
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db, "UPDATE recipients SET fields=? WHERE key='u2@example.com'", -1, &st,
                     nullptr);
  sqlite3_bind_blob(st, 1, fields, static_cast<int>(fields_len), SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE) std::abort();
  sqlite3_finalize(st);
  sqlite3_close(db);

  FakeClock clock{1795608950};
  auto store = OpenSqliteStore(Path(), &clock);
  if (!store.ok()) std::abort();  // the file itself is sound
  Store& s = **store;
  if (!s.BindCampaign("c1", true, false).ok()) std::abort();
  CheckCounts(s.Counts());
  (void)s.CountsByDomain();
  (void)s.CountDue();
  (void)s.NextRetryAt();
  (void)s.Find("u2@example.com");
  auto leased = s.Lease(10, true);
  if (leased.ok()) {
    std::set<int64_t> seen;
    std::vector<Transition> ts;
    for (const auto& r : *leased) {
      if (!seen.insert(r.id).second) std::abort();  // leased twice in one call
      ts.push_back({r.id, DeliveryState::kSent, "<m@x>", "250", 0});
    }
    (void)s.Record(ts);
  }
  (void)s.RecoverLeases();
  CheckCounts(s.Counts());
  return 0;
}
