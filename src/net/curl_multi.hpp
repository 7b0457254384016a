#pragma once
// HTTP(S) requests on one libcurl multi handle per event loop, driven by Asio: curl tells us which
// sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it (CURLMOPT_TIMERFUNCTION); no
// thread per request and no curl_multi_perform() polling. Connections and easy handles are kept
// and reused between requests; TLS is always verified.
//
//   auto http = net::CurlMulti::of(co_await asio::this_coro::executor);
//   auto response = co_await http->perform(std::move(request));
//
// The multi belongs to the io_context (an Asio service): it lives as long as the loop, and every
// transfer still running when the loop is destroyed is torn down with it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "util/error.hpp"

namespace offsite::net {

struct HttpRequest {
  std::string method = "GET";       // GET HEAD PUT POST DELETE
  std::string url;                  // already percent-encoded
  std::vector<std::string> headers; // "name: value", sent exactly as given
  // The request body; the caller keeps it valid until perform() completes.
  std::span<const std::byte> body;
  // A response body larger than this fails the request (ErrorKind::permanent).
  std::size_t max_response_body = 16u << 20;
  // Trusted in addition to the system's CAs; empty: the system's only.
  std::filesystem::path ca_file;
  // Give up when no byte moved for this long (a stalled connection), and when connecting takes it.
  std::chrono::seconds stall_timeout{60};
  std::chrono::seconds connect_timeout{30};
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers; // names lower-cased, of the final response
  std::string body;

  // The first header called `name` (lower case), "" if absent.
  std::string_view header(std::string_view name) const;
};

class CurlMulti {
public:
  // The one multi of `executor`'s io_context, made on first use.
  static std::shared_ptr<CurlMulti> of(const asio::any_io_executor& executor);

  explicit CurlMulti(asio::any_io_executor executor);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Runs one request. A transport failure (refused, reset, timed out, stalled) is
  // ErrorKind::transient; a TLS verification failure or a malformed URL is permanent; any HTTP
  // status is a success here (the caller reads `status`). Cancellation removes the transfer at
  // once and completes with operation_aborted thrown at the caller's next suspension.
  asio::awaitable<Result<HttpResponse>> perform(HttpRequest request);

  // Transfers in flight, and easy handles made so far (for tests of reuse).
  std::size_t active() const;
  std::size_t handles_created() const;

  // Tears every transfer down; later perform() calls fail. Called when the loop shuts down.
  void shutdown();

  struct Impl;

private:
  std::unique_ptr<Impl> m_impl;
};

} // namespace offsite::net
