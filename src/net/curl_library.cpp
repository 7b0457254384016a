// Opening libcurl at run time (curl_library.hpp says why): the soname of libcurl's ABI 4, which
// the headers we compile against describe.

#include "net/curl_library.hpp"

#include <fmt/format.h>

#include "util/shared_library.hpp"

namespace offsite::net {
namespace {

Result<CurlLibrary> load_curl() {
  auto library = SharedLibrary::open("libcurl.so.4", "HTTP and S3 targets", "libcurl4");
  if (!library) return Unexpected(library.error());
  CurlLibrary lib{};
  library->resolve("curl_global_init", lib.global_init);
  library->resolve("curl_getdate", lib.getdate);
  library->resolve("curl_easy_init", lib.easy_init);
  library->resolve("curl_easy_setopt", lib.easy_setopt);
  library->resolve("curl_easy_getinfo", lib.easy_getinfo);
  library->resolve("curl_easy_reset", lib.easy_reset);
  library->resolve("curl_easy_cleanup", lib.easy_cleanup);
  library->resolve("curl_easy_strerror", lib.easy_strerror);
  library->resolve("curl_slist_append", lib.slist_append);
  library->resolve("curl_slist_free_all", lib.slist_free_all);
  library->resolve("curl_multi_init", lib.multi_init);
  library->resolve("curl_multi_setopt", lib.multi_setopt);
  library->resolve("curl_multi_add_handle", lib.multi_add_handle);
  library->resolve("curl_multi_remove_handle", lib.multi_remove_handle);
  library->resolve("curl_multi_socket_action", lib.multi_socket_action);
  library->resolve("curl_multi_info_read", lib.multi_info_read);
  library->resolve("curl_multi_perform", lib.multi_perform);
  library->resolve("curl_multi_strerror", lib.multi_strerror);
  library->resolve("curl_multi_cleanup", lib.multi_cleanup);
  if (auto complete = library->complete(); !complete) return Unexpected(complete.error());
  if (auto code = lib.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK)
    return make_error(ErrorKind::permanent, fmt::format("curl_global_init: {}", lib.easy_strerror(code)));
  return lib;
}

} // namespace

Result<const CurlLibrary*> curl_library() { return load_once<CurlLibrary, load_curl>(); }

} // namespace offsite::net
