#include "cli/cli.hpp"

int main(int argc, char** argv) { return offsite::cli::run(argc, argv); }
