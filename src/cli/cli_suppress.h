// `sealmail suppress add|import|list|remove`: the handler behind the
// subcommand cli.cc declares.
#pragma once

#include <string>
#include <vector>

namespace sealmail {

struct SuppressArgs {
  std::string verb;                // add, import, list, remove
  std::string state_path;          // --state; empty: the first of args is DIR
  std::vector<std::string> args;   // [DIR] then addresses (add, remove) or FILE.csv (import)
  std::string reason;              // --reason
  bool json = false;
};

// Returns the process exit code (SPEC.md): 0 done, 1 usage or bad input.
int RunSuppress(const SuppressArgs& a);

}  // namespace sealmail
