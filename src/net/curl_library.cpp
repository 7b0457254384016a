// Opening libcurl at run time (curl_library.hpp says why). POSIX: dlopen of the soname the
// Debian package installs; the ABI is libcurl's version 4, which the headers we compile
// against describe.

#include "net/curl_library.hpp"

#include <dlfcn.h>

#include <fmt/format.h>

namespace offsite::net {
namespace {

constexpr const char* k_soname = "libcurl.so.4";

template <class Function> bool resolve(void* handle, const char* name, Function& out, std::string& missing) {
  out = reinterpret_cast<Function>(::dlsym(handle, name));
  if (!out) missing += missing.empty() ? name : fmt::format(", {}", name);
  return out != nullptr;
}

Result<CurlLibrary> load() {
  void* handle = ::dlopen(k_soname, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return make_error(ErrorKind::permanent,
                      fmt::format("cannot load {} (libcurl, needed for HTTP and S3 targets; Debian package "
                                  "libcurl4): {}",
                                  k_soname, why ? why : "unknown error"));
  }
  CurlLibrary lib{};
  std::string missing;
  resolve(handle, "curl_global_init", lib.global_init, missing);
  resolve(handle, "curl_getdate", lib.getdate, missing);
  resolve(handle, "curl_easy_init", lib.easy_init, missing);
  resolve(handle, "curl_easy_setopt", lib.easy_setopt, missing);
  resolve(handle, "curl_easy_getinfo", lib.easy_getinfo, missing);
  resolve(handle, "curl_easy_reset", lib.easy_reset, missing);
  resolve(handle, "curl_easy_cleanup", lib.easy_cleanup, missing);
  resolve(handle, "curl_easy_strerror", lib.easy_strerror, missing);
  resolve(handle, "curl_slist_append", lib.slist_append, missing);
  resolve(handle, "curl_slist_free_all", lib.slist_free_all, missing);
  resolve(handle, "curl_multi_init", lib.multi_init, missing);
  resolve(handle, "curl_multi_setopt", lib.multi_setopt, missing);
  resolve(handle, "curl_multi_add_handle", lib.multi_add_handle, missing);
  resolve(handle, "curl_multi_remove_handle", lib.multi_remove_handle, missing);
  resolve(handle, "curl_multi_socket_action", lib.multi_socket_action, missing);
  resolve(handle, "curl_multi_info_read", lib.multi_info_read, missing);
  resolve(handle, "curl_multi_perform", lib.multi_perform, missing);
  resolve(handle, "curl_multi_strerror", lib.multi_strerror, missing);
  resolve(handle, "curl_multi_cleanup", lib.multi_cleanup, missing);
  if (!missing.empty())
    return make_error(ErrorKind::permanent, fmt::format("{} lacks {}: too old a libcurl", k_soname, missing));
  // The handle stays open for the life of the process: curl keeps threads and state in it.
  if (auto code = lib.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK)
    return make_error(ErrorKind::permanent, fmt::format("curl_global_init: {}", lib.easy_strerror(code)));
  return lib;
}

} // namespace

Result<const CurlLibrary*> curl_library() {
  static const Result<CurlLibrary> loaded = load();
  if (!loaded) return Unexpected(loaded.error());
  return &*loaded;
}

} // namespace offsite::net
