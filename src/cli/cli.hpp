#pragma once

namespace offsite::cli {

// Parses argv, runs one command, returns the process exit status (BRIEF §2).
int run(int argc, char** argv);

} // namespace offsite::cli
