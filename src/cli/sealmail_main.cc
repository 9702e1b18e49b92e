#include <malloc.h>

#include "cli/cli.h"

int main(int argc, char** argv) {
  // Messages, their encodings and the guard's decoded parts are 100 KB and
  // more for large campaigns, allocated and freed on every message on
  // several threads. glibc would serve each from a fresh mmap (or trim and
  // regrow a thread's heap), so every message paid page faults for its own
  // buffers (a quarter of the CPU time composing 100 KB messages). Keep
  // such blocks on the heap and the heap's top in place. (The normal build
  // links tcmalloc, src/cli/CMakeLists.txt, which has no such habit and
  // ignores these; they are for a build with glibc's malloc, such as
  // the sanitizer build.)
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  // Each arena keeps up to the trim threshold free: few arenas, so that
  // what a campaign of a million recipients holds stays bounded.
  mallopt(M_ARENA_MAX, 4);
  return sealmail::RunCli(argc, argv);
}
