#pragma once
// libcurl, opened when offsite makes its first HTTP request rather than when it starts.
//
// Why it is not linked: libcurl brings some thirty libraries with it (GnuTLS through librtmp,
// Kerberos, LDAP, SASL, nghttp2, libpsl, ...). Loading and initialising them from a cold page
// cache takes about 30 ms (an empty program linked with -lcurl: 30 ms, without: under 5 ms),
// which was half of a no-change sync to a local disk, paid by every run whether it used HTTP or
// not (docs/performance.md; util/shared_library.hpp has the general case). offsite is compiled
// against curl's headers and calls libcurl through this table; when
// the library cannot be loaded, the first request fails with an error naming it, and targets
// that do not use HTTP are not affected.
//
// Nothing here is called from a curl callback or before main(); the table is loaded once, under
// the protection of a function-local static.

#include <curl/curl.h>

#include "util/error.hpp"

namespace offsite::net {

struct CurlLibrary {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_getdate) getdate;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_multi_init) multi_init;
  decltype(&::curl_multi_setopt) multi_setopt;
  decltype(&::curl_multi_add_handle) multi_add_handle;
  decltype(&::curl_multi_remove_handle) multi_remove_handle;
  decltype(&::curl_multi_socket_action) multi_socket_action;
  decltype(&::curl_multi_info_read) multi_info_read;
  decltype(&::curl_multi_perform) multi_perform;
  decltype(&::curl_multi_strerror) multi_strerror;
  decltype(&::curl_multi_cleanup) multi_cleanup;
};

// The loaded library (curl_global_init done), or why it could not be loaded.
Result<const CurlLibrary*> curl_library();

} // namespace offsite::net
