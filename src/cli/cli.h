// The `sealmail` command line (SPEC.md): parses arguments, calls the engine,
// prints reports (human or --json) and maps outcomes to the exit codes of
// SPEC.md. Thin by design: everything it calls is a library.
#pragma once

namespace sealmail {

// Runs the CLI; returns the process exit code.
int RunCli(int argc, char** argv);

}  // namespace sealmail
