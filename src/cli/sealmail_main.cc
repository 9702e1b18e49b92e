#include "cli/cli.h"

int main(int argc, char** argv) { return sealmail::RunCli(argc, argv); }
