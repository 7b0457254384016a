// libcurl's multi interface on the Asio loop (research/tech-notes.md §1 has the pattern and the
// bugs of the deleted asiohiper.cpp example that this file avoids).
//
// curl owns the sockets; we only watch them. For each fd curl reports through the socket
// callback (TCP connections, but also the threaded resolver's socketpair), a Watch wraps it in a
// posix::stream_descriptor that is released, never closed. A wait is armed per direction curl
// wants; when it fires we hand the event to curl_multi_socket_action() and re-arm while curl still
// wants that direction. curl's single timer maps to one steady_timer. Handlers hold weak_ptrs, so
// a Watch removed while a wait is queued is simply not acted on.
//
// Ordering rules that keep this correct:
//  - CURL_POLL_REMOVE and the close-socket callback release the descriptor at once, while the fd
//    number is still curl's (a late release could deregister a new socket that reused it).
//  - Nothing calls curl_multi_* from inside a curl callback: finished transfers are collected after
//    curl_multi_socket_action() returns (drain_done), and their coroutines are resumed by a post.
//  - The multi is an Asio service of the io_context, registered after the reactor, so it is torn
//    down before the reactor when the loop is destroyed.

#include "net/curl_multi.hpp"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>
#include <optional>
#include <unistd.h>
#include <unordered_map>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <curl/curl.h>
#include <fmt/format.h>

#include "net/curl_library.hpp"

namespace offsite::net {
namespace {

inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t k_idle_handles_kept = 32;

// Once per process. With CURLOPT_NOSIGNAL (required with threads) curl no longer shields us from
// SIGPIPE, and OpenSSL writing to a connection the peer reset raises it: ignore it process-wide,
// as curl's documentation asks. Children are spawned with default dispositions (util/process.cpp).
struct GlobalInit {
  GlobalInit() { std::signal(SIGPIPE, SIG_IGN); }
};

void global_init() { static GlobalInit once; }

// libcurl's functions (curl_library.hpp); only called once an Impl has loaded them.
const CurlLibrary& curl() { return **curl_library(); }

struct Watch {
  asio::posix::stream_descriptor descriptor;
  int wanted = 0;       // CURL_POLL_IN / OUT / INOUT
  bool reading = false; // a wait is queued in that direction
  bool writing = false;
  Watch(const asio::any_io_executor& executor, curl_socket_t fd) : descriptor(executor, fd) {}
  ~Watch() {
    if (descriptor.is_open()) descriptor.release();
  }
};

using Channel = asio::experimental::channel<void(asio::error_code, CURLcode)>;

struct Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpRequest request;
  HttpResponse response;
  std::size_t body_position = 0;
  bool too_large = false;
  bool in_multi = false;
  char error_text[CURL_ERROR_SIZE] = {};
  Channel done;
  explicit Transfer(const asio::any_io_executor& executor) : done(executor, 1) {}
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  // Normally finish() has handed the handle back; this runs when the loop died mid-transfer.
  ~Transfer() {
    if (headers) curl().slist_free_all(headers);
    if (easy) curl().easy_cleanup(easy);
  }
};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  std::size_t bytes = size * count;
  if (transfer.response.body.size() + bytes > transfer.request.max_response_body) {
    transfer.too_large = true;
    return 0; // aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer.response.body.append(data, bytes);
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    transfer.response.headers.clear(); // a new response: 100 Continue, a redirect, then the final one
    return bytes;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  transfer.response.headers.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  return bytes;
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  auto body = transfer.request.body;
  std::size_t n = std::min(size * count, body.size() - transfer.body_position);
  std::memcpy(buffer, body.data() + transfer.body_position, n);
  transfer.body_position += n;
  return n;
}

// curl rewinds the body when it sends it again (a reused connection that turned out closed).
int on_seek(void* user, curl_off_t offset, int origin) {
  auto& transfer = *static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::size_t>(offset) > transfer.request.body.size())
    return CURL_SEEKFUNC_CANTSEEK;
  transfer.body_position = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

Error transport_error(const Transfer& transfer, CURLcode code) {
  std::string detail = transfer.error_text[0] ? transfer.error_text : curl().easy_strerror(code);
  if (transfer.too_large)
    return Error{ErrorKind::permanent,
                 fmt::format("the response is larger than the {} bytes expected", transfer.request.max_response_body)};
  switch (code) {
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_OUT_OF_MEMORY:
    return Error{ErrorKind::permanent, fmt::format("{} (curl error {})", detail, static_cast<int>(code))};
  default: return Error{ErrorKind::transient, fmt::format("{} (curl error {})", detail, static_cast<int>(code))};
  }
}

} // namespace

std::string_view HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return {};
}

struct CurlMulti::Impl {
  asio::any_io_executor executor;
  CURLM* multi = nullptr;
  asio::steady_timer timer;
  std::unordered_map<curl_socket_t, std::shared_ptr<Watch>> watches;
  std::unordered_map<CURL*, std::shared_ptr<Transfer>> transfers;
  std::vector<CURL*> idle;
  std::size_t created = 0;
  bool closed = false;
  std::optional<Error> unusable; // libcurl could not be loaded: every request fails with this

  explicit Impl(asio::any_io_executor ex) : executor(std::move(ex)), timer(executor) {
    if (auto library = curl_library(); !library) {
      unusable = library.error();
      closed = true;
      return;
    }
    global_init();
    multi = curl().multi_init();
    curl().multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::socket_callback);
    curl().multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl().multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::timer_callback);
    curl().multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  }

  ~Impl() { close(); }

  void close() {
    if (closed) return;
    closed = true;
    for (auto& [easy, transfer] : transfers) {
      curl().multi_remove_handle(multi, easy);
      transfer->in_multi = false; // its coroutine is destroyed with the loop, never resumed
    }
    transfers.clear();
    for (CURL* easy : idle)
      curl().easy_cleanup(easy);
    idle.clear();
    curl().multi_cleanup(multi); // closes cached connections through close_socket_callback
    multi = nullptr;
    for (auto& [fd, watch] : watches)
      watch->descriptor.release();
    watches.clear();
    timer.cancel();
  }

  void forget(curl_socket_t fd) {
    if (auto it = watches.find(fd); it != watches.end()) {
      it->second->descriptor.release();
      watches.erase(it);
    }
  }

  static int socket_callback(CURL*, curl_socket_t fd, int what, void* user, void*) {
    auto& self = *static_cast<Impl*>(user);
    if (what == CURL_POLL_REMOVE) {
      self.forget(fd);
      return 0;
    }
    auto& watch = self.watches[fd];
    if (!watch) watch = std::make_shared<Watch>(self.executor, fd);
    watch->wanted = what;
    self.arm(fd, watch);
    return 0;
  }

  static int close_socket_callback(void* user, curl_socket_t fd) {
    static_cast<Impl*>(user)->forget(fd);
    return ::close(fd);
  }

  static int timer_callback(CURLM*, long timeout_ms, void* user) {
    auto& self = *static_cast<Impl*>(user);
    if (timeout_ms < 0) {
      self.timer.cancel();
      return 0;
    }
    // 0 ms is fine: the handler runs on a later turn of the loop, never inside this callback.
    self.timer.expires_after(std::chrono::milliseconds(timeout_ms));
    self.timer.async_wait([&self](asio::error_code ec) {
      if (ec || self.closed) return;
      int running = 0;
      curl().multi_socket_action(self.multi, CURL_SOCKET_TIMEOUT, 0, &running);
      self.drain_done();
    });
    return 0;
  }

  void arm(curl_socket_t fd, const std::shared_ptr<Watch>& watch) {
    if ((watch->wanted & CURL_POLL_IN) && !watch->reading) wait(fd, watch, true);
    if ((watch->wanted & CURL_POLL_OUT) && !watch->writing) wait(fd, watch, false);
  }

  void wait(curl_socket_t fd, const std::shared_ptr<Watch>& watch, bool read) {
    (read ? watch->reading : watch->writing) = true;
    auto type = read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write;
    watch->descriptor.async_wait(type, [this, fd, weak = std::weak_ptr<Watch>(watch), read](asio::error_code ec) {
      auto current = weak.lock();
      if (!current || ec == asio::error::operation_aborted || closed) return;
      (read ? current->reading : current->writing) = false;
      int running = 0;
      curl().multi_socket_action(multi, fd, ec ? CURL_CSELECT_ERR : (read ? CURL_CSELECT_IN : CURL_CSELECT_OUT),
                                 &running);
      drain_done();
      // Re-arm only while curl still wants this socket, and only the same watch (the fd may have
      // been removed and reused by a new connection during socket_action).
      if (auto it = watches.find(fd); it != watches.end() && it->second == current) arm(fd, current);
    });
  }

  void drain_done() {
    int left = 0;
    while (CURLMsg* message = curl().multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      CURLcode code = message->data.result;
      curl().multi_remove_handle(multi, easy);
      auto it = transfers.find(easy);
      if (it == transfers.end()) continue;
      auto transfer = std::move(it->second);
      transfers.erase(it);
      transfer->in_multi = false;
      // Resumed by a post: the awaiting coroutine never runs inside this loop over curl's state.
      asio::post(executor, [transfer, code] { transfer->done.try_send(asio::error_code(), code); });
    }
  }

  CURL* take_handle() {
    if (!idle.empty()) {
      CURL* easy = idle.back();
      idle.pop_back();
      curl().easy_reset(easy);
      return easy;
    }
    ++created;
    return curl().easy_init();
  }

  void return_handle(CURL* easy) {
    if (!closed && idle.size() < k_idle_handles_kept)
      idle.push_back(easy);
    else
      curl().easy_cleanup(easy);
  }

  void configure(Transfer& transfer) {
    CURL* easy = transfer.easy;
    const auto& request = transfer.request;
    curl().easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl().easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl().easy_setopt(easy, CURLOPT_PRIVATE, &transfer);
    curl().easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error_text);
    curl().easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
    curl().easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
    curl().easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
    curl().easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
    curl().easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &Impl::close_socket_callback);
    curl().easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
    curl().easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, static_cast<long>(request.connect_timeout.count()));
    curl().easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl().easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.stall_timeout.count()));
    curl().easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl().easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    // CAINFO replaces curl's bundle; the system's CA directory (CAPATH) still applies.
    if (!request.ca_file.empty()) curl().easy_setopt(easy, CURLOPT_CAINFO, request.ca_file.c_str());
    curl().easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl().easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);

    auto size = static_cast<curl_off_t>(request.body.size());
    if (request.method == "HEAD") {
      curl().easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (request.method == "PUT") {
      curl().easy_setopt(easy, CURLOPT_UPLOAD, 1L);
      curl().easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, size);
    } else if (request.method == "POST") {
      curl().easy_setopt(easy, CURLOPT_POST, 1L);
      curl().easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, size);
    } else if (request.method != "GET") {
      curl().easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (request.method == "PUT" || request.method == "POST") {
      curl().easy_setopt(easy, CURLOPT_READFUNCTION, &on_read);
      curl().easy_setopt(easy, CURLOPT_READDATA, &transfer);
      curl().easy_setopt(easy, CURLOPT_SEEKFUNCTION, &on_seek);
      curl().easy_setopt(easy, CURLOPT_SEEKDATA, &transfer);
    }
    for (const auto& header : request.headers)
      transfer.headers = curl().slist_append(transfer.headers, header.c_str());
    // No "Expect: 100-continue" round trip; curl's own content type for POST is not wanted either.
    transfer.headers = curl().slist_append(transfer.headers, "Expect:");
    if (request.method == "POST" &&
        std::none_of(request.headers.begin(), request.headers.end(),
                     [](const std::string& h) { return lower(h.substr(0, 13)) == "content-type:"; }))
      transfer.headers = curl().slist_append(transfer.headers, "Content-Type:");
    curl().easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.headers);
  }

  void finish(Transfer& transfer) {
    if (transfer.in_multi) {
      curl().multi_remove_handle(multi, transfer.easy);
      transfers.erase(transfer.easy);
      transfer.in_multi = false;
    }
    if (transfer.headers) curl().slist_free_all(transfer.headers);
    transfer.headers = nullptr;
    if (transfer.easy) return_handle(transfer.easy);
    transfer.easy = nullptr;
  }
};

namespace {

// The io_context's multi. Registered after the reactor and timer services (see of()), so its
// shutdown runs before theirs and every descriptor is released while they still exist.
class CurlService final : public asio::execution_context::service {
public:
  inline static asio::execution_context::id id;
  explicit CurlService(asio::execution_context& context) : asio::execution_context::service(context) {}
  void shutdown() override {
    if (multi) multi->shutdown();
    multi.reset();
  }
  std::shared_ptr<CurlMulti> multi;
};

} // namespace

std::shared_ptr<CurlMulti> CurlMulti::of(const asio::any_io_executor& executor) {
  auto& context = asio::query(executor, asio::execution::context);
  if (!asio::has_service<CurlService>(context)) {
    // Make sure the reactor and the timer and descriptor services are registered first.
    asio::steady_timer timer(executor);
    asio::posix::stream_descriptor descriptor(executor);
  }
  auto& service = asio::use_service<CurlService>(context);
  if (!service.multi) service.multi = std::make_shared<CurlMulti>(executor);
  return service.multi;
}

CurlMulti::CurlMulti(asio::any_io_executor executor) : m_impl(std::make_unique<Impl>(std::move(executor))) {}

CurlMulti::~CurlMulti() = default;

void CurlMulti::shutdown() { m_impl->close(); }

std::size_t CurlMulti::active() const { return m_impl->transfers.size(); }
std::size_t CurlMulti::handles_created() const { return m_impl->created; }

asio::awaitable<Result<HttpResponse>> CurlMulti::perform(HttpRequest request) {
  auto& impl = *m_impl;
  if (impl.unusable) co_return Unexpected(*impl.unusable);
  if (impl.closed) co_return make_error(ErrorKind::cancelled, "the event loop is shutting down");
  auto transfer = std::make_shared<Transfer>(impl.executor);
  transfer->request = std::move(request);
  transfer->easy = impl.take_handle();
  if (!transfer->easy) co_return make_error(ErrorKind::permanent, "curl_easy_init failed");
  impl.configure(*transfer);
  if (auto code = curl().multi_add_handle(impl.multi, transfer->easy); code != CURLM_OK) {
    impl.finish(*transfer);
    co_return make_error(ErrorKind::permanent, fmt::format("curl_multi_add_handle: {}", curl().multi_strerror(code)));
  }
  transfer->in_multi = true;
  impl.transfers.emplace(transfer->easy, transfer);

  auto [ec, code] = co_await transfer->done.async_receive(use_nothrow);
  long status = 0;
  if (!ec && code == CURLE_OK) curl().easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
  // A cancelled wait leaves the transfer in the multi: take it out before its buffers go away.
  impl.finish(*transfer);
  if (ec == asio::error::shut_down) co_return make_error(ErrorKind::cancelled, "the event loop is shutting down");
  if (ec) co_return make_error(ErrorKind::cancelled, "cancelled");
  if (code != CURLE_OK) co_return Unexpected(transport_error(*transfer, code));
  transfer->response.status = status;
  co_return std::move(transfer->response);
}

} // namespace offsite::net
