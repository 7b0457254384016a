// SharedLibrary on POSIX: dlopen of the soname the Debian package installs, local symbols (the
// tables are the only way in), every symbol bound at once so a missing one shows at open time.

#include "util/shared_library.hpp"

#include <dlfcn.h>

#include <fmt/format.h>

namespace offsite {

Result<SharedLibrary> SharedLibrary::open(std::string soname, std::string_view needed_for, std::string_view package) {
  void* handle = ::dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return make_error(ErrorKind::permanent, fmt::format("cannot load {} (needed for {}; Debian package {}): {}", soname,
                                                        needed_for, package, why ? why : "unknown error"));
  }
  return SharedLibrary(handle, std::move(soname));
}

void* SharedLibrary::symbol(const char* name) {
  void* found = ::dlsym(m_handle, name);
  if (!found) m_missing += m_missing.empty() ? name : fmt::format(", {}", name);
  return found;
}

Result<void> SharedLibrary::complete() const {
  if (m_missing.empty()) return {};
  return make_error(ErrorKind::permanent, fmt::format("{} lacks {}: too old a version", m_soname, m_missing));
}

} // namespace offsite
