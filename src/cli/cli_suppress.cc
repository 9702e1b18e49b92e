#include "cli/cli_suppress.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/file.h"
#include "engine/engine.h"

namespace sealmail {
namespace {

int Usage(const std::string& msg) {
  std::fprintf(stderr, "sealmail suppress: %s\n", msg.c_str());
  return 1;
}

// The state the command acts on: --state PATH, or DIR's own
// (DIR/.sealmail/state.db, DIR must be a campaign directory).
bool ResolveState(const SuppressArgs& a, std::string* state, std::vector<std::string>* rest,
                  std::string* err) {
  *rest = a.args;
  if (!a.state_path.empty()) {
    *state = a.state_path;
    return true;
  }
  if (rest->empty()) {
    *err = "give the campaign DIR (its state) or --state PATH (a shared state)";
    return false;
  }
  std::string dir = rest->front();
  rest->erase(rest->begin());
  if (!std::filesystem::exists(std::filesystem::path(dir) / "campaign.toml")) {
    *err = dir + ": not a campaign directory (no campaign.toml); give the campaign DIR first, "
                 "or --state PATH";
    return false;
  }
  // Only what writes creates the state's folder (list and remove never do).
  if (a.verb == "add" || a.verb == "import") {
    Status made = MakeDirs(dir + "/.sealmail", /*private_dir=*/true);
    if (!made.ok()) {
      *err = made.message();
      return false;
    }
  }
  *state = dir + "/.sealmail/state.db";
  return true;
}

}  // namespace

int RunSuppress(const SuppressArgs& a) {
  std::string state, err;
  std::vector<std::string> rest;
  if (!ResolveState(a, &state, &rest, &err)) return Usage(err);
  SystemClock clock;
  Engine engine(clock);
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "sealmail: %s\n", s.message().c_str());
    return 1;
  };

  if (a.verb == "list") {
    if (!rest.empty()) return Usage("list takes no addresses");
    nlohmann::json arr = nlohmann::json::array();
    uint64_t n = 0;
    Status s = engine.SuppressList(state, [&](const Suppression& x) {
      ++n;
      if (a.json) {
        arr.push_back({{"email", x.email}, {"reason", x.reason}, {"source", x.source},
                       {"at", x.at}});
      } else {
        std::printf("%s\t%s\t%s\t%s\n", x.email.c_str(), FormatUtc(x.at).c_str(), x.source.c_str(),
                    x.reason.c_str());
      }
      return true;
    });
    if (!s.ok()) return fail(s);
    if (a.json) {
      std::cout << nlohmann::json{{"state_path", state}, {"count", n}, {"suppressed", arr}}.dump(2)
                << "\n";
    } else {
      std::fprintf(stderr, "%llu suppressed addresses in %s\n",
                   static_cast<unsigned long long>(n), state.c_str());
    }
    return 0;
  }

  Result<SuppressReport> rep = Status::Internal("unreachable");
  if (a.verb == "add") {
    if (rest.empty()) return Usage("add: give one or more addresses");
    rep = engine.SuppressAdd(state, rest, a.reason.empty() ? "added by an operator" : a.reason);
  } else if (a.verb == "remove") {
    if (rest.empty()) return Usage("remove: give one or more addresses");
    rep = engine.SuppressRemove(state, rest);
  } else if (a.verb == "import") {
    if (rest.size() != 1) return Usage("import: give one CSV file (a header with an email column)");
    rep = engine.SuppressImport(state, rest[0],
                                a.reason.empty() ? "imported from " + rest[0] : a.reason);
  } else {
    return Usage("unknown action \"" + a.verb + "\" (add, import, list, remove)");
  }
  if (!rep.ok()) return fail(rep.status());
  int rc = rep->refused > 0 ? 1 : 0;
  if (a.json) {
    nlohmann::json j = {{"state_path", state},      {"added", rep->added},
                        {"already_listed", rep->existing}, {"removed", rep->removed},
                        {"not_listed", rep->not_listed},   {"rows", rep->rows},
                        {"refused", rep->refused},         {"duplicates", rep->duplicates},
                        {"errors", rep->errors},           {"exit", rc}};
    std::cout << j.dump(2) << "\n";
    return rc;
  }
  if (a.verb == "remove") {
    std::printf("removed    %llu from the suppression list of %s\n",
                static_cast<unsigned long long>(rep->removed), state.c_str());
    for (const auto& n : rep->not_listed) std::printf("not listed %s\n", n.c_str());
    return rc;
  }
  std::printf("added      %llu to the suppression list of %s (%llu already listed)\n",
              static_cast<unsigned long long>(rep->added), state.c_str(),
              static_cast<unsigned long long>(rep->existing));
  if (a.verb == "import") {
    std::printf("rows       %llu read, %llu refused, %llu duplicates\n",
                static_cast<unsigned long long>(rep->rows),
                static_cast<unsigned long long>(rep->refused),
                static_cast<unsigned long long>(rep->duplicates));
    for (const auto& e : rep->errors) std::printf("  %s\n", e.c_str());
    if (rep->refused > 0) {
      std::printf("result     %llu rows were NOT added: fix them and import again (rows already "
                  "added stay; importing twice is harmless) (exit 1)\n",
                  static_cast<unsigned long long>(rep->refused));
    }
  }
  return rc;
}

}  // namespace sealmail
