#pragma once
// Test-only crash points (docs/sync.md lists them). With OFFSITE_FAILPOINT=NAME:N in the
// environment, the N-th time the code passes failpoint("NAME") the process kills itself with
// SIGKILL: a crash at an exact step, for the crash tests of BRIEF §9. Costs one branch otherwise.

#include <string_view>

namespace offsite {

void failpoint(std::string_view name);

} // namespace offsite
