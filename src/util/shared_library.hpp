#pragma once
// A shared library opened when a feature first needs it rather than when offsite starts.
//
// Why: every library linked into the executable is mapped and relocated before main(), by every
// run. Those offsite needs only for some targets (libcurl for S3; libssh2 and libcrypto for SFTP
// and S3 signing) cost a cold start 10-30 ms each, which is a measurable share of a nightly sync
// to a local disk that never uses them (docs/performance.md). systemd opens its optional
// libraries the same way, for the same reason.
//
// Each user keeps a table of the functions it calls (net/curl_library.hpp, net/ssh_library.hpp,
// net/crypto_library.hpp), compiled against the library's own headers so the types are checked,
// and fills it through a SharedLibrary. A library that cannot be opened, or lacks a function, is
// an error naming the library and the Debian package, met by the feature that needs it, never at
// start. A library once opened stays open for the life of the process.
//
// The POSIX implementation is shared_library_posix.cpp (dlopen); a Windows build adds one with
// LoadLibrary.

#include <stdexcept>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace offsite {

class SharedLibrary {
public:
  // Opens `soname` (for example "libssh2.so.1"). `needed_for` and `package` go into the error:
  // "cannot load libssh2.so.1 (needed for SFTP targets; Debian package libssh2-1): ...".
  static Result<SharedLibrary> open(std::string soname, std::string_view needed_for, std::string_view package);

  // Sets `out` to the function `name`, or notes it as missing (see complete()).
  template <class Function> void resolve(const char* name, Function& out) {
    out = reinterpret_cast<Function>(symbol(name));
  }

  // Success when every resolve() found its function; otherwise an error naming those it did not.
  Result<void> complete() const;

private:
  SharedLibrary(void* handle, std::string soname) : m_handle(handle), m_soname(std::move(soname)) {}
  void* symbol(const char* name);

  void* m_handle;
  std::string m_soname;
  std::string m_missing; // "name, name"
};

// The table `Load` fills, loaded once for the life of the process (under the initialisation
// guard of a function-local static, so thread-safe), or why it could not be.
template <class Table, Result<Table> (*Load)()> Result<const Table*> load_once() {
  static const Result<Table> loaded = Load();
  if (!loaded) return Unexpected(loaded.error());
  return &*loaded;
}

// For code that runs only after a load succeeded (a target checked it when it connected): the
// table; a failed load there is a programming error, so it throws.
template <class Table> const Table& loaded_or_throw(Result<const Table*> library) {
  if (!library) throw std::runtime_error(library.error().message);
  return **library;
}

} // namespace offsite
