// The conformance suite against S3Target and the real S3 test server (tests/servers/s3: SigV4 and
// payload hashes verified, multipart, copies, fault rules), over HTTP and over HTTPS with the
// server's test CA; then what only S3 has: multipart uploads continued by a new target instance
// (a new run), no unfinished upload left by remove(), multipart copies, and the server's bad
// answers (503 SlowDown, 403, an error inside a 200, malformed XML).
//
// One server for the whole executable, started on first use and stopped by its PID at exit;
// each case works under a prefix of its own.

#include "target/s3.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <sys/wait.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <boost/test/unit_test.hpp>
#include <curl/curl.h>

#include "conformance.hpp"
#include "net/curl_multi.hpp"
#include "support/temp_dir.hpp"
#include "util/uuid.hpp"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

using namespace offsite;
using offsite::test::conformance::bytes_of;
using offsite::test::conformance::download_all;
using offsite::test::conformance::pattern;
using offsite::test::conformance::require_ok;
using target::S3Target;
using target::UploadOptions;

constexpr std::uint64_t k_mib = 1 << 20;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return text;
}

// The test server, started once per process (start.sh), stopped by PID (stop.sh) at exit.
class Server {
public:
  static Server& get() {
    static Server server;
    return server;
  }

  std::string value(const std::string& name) const { return m_values.at(name); }

  // A control request (fault rules): POST JSON `body` to _offsite/`what`, or DELETE it.
  void control(const std::string& method, const std::string& what, const std::string& body = "") const {
    CURL* easy = curl_easy_init();
    auto url = value("S3_CONTROL") + what;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    if (!body.empty()) curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(
        easy, CURLOPT_WRITEFUNCTION, +[](char*, size_t size, size_t n, void*) { return size * n; });
    CURLcode code = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
    if (code != CURLE_OK || status >= 300) throw std::runtime_error("control request failed: " + url);
  }

  // GET _offsite/`what`: the server's own view (JSON), for checks no S3 call shows.
  std::string fetch(const std::string& what) const {
    CURL* easy = curl_easy_init();
    auto url = value("S3_CONTROL") + what;
    std::string body;
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(
        easy, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) {
          static_cast<std::string*>(out)->append(data, size * n);
          return size * n;
        });
    CURLcode code = curl_easy_perform(easy);
    curl_easy_cleanup(easy);
    if (code != CURLE_OK) throw std::runtime_error("control request failed: " + url);
    return body;
  }

  ~Server() {
    auto command = std::string(OFFSITE_S3_SERVER_DIR) + "/stop.sh '" + m_dir.path().string() + "' >/dev/null 2>&1";
    [[maybe_unused]] int rc = std::system(command.c_str());
  }

private:
  Server() {
    auto command = std::string(OFFSITE_S3_SERVER_DIR) + "/start.sh '" + m_dir.path().string() + "' >/dev/null 2>&1";
    int rc = std::system(command.c_str());
    if (rc != 0) throw std::runtime_error("tests/servers/s3/start.sh failed (exit " + std::to_string(rc) + ")");
    std::ifstream env(m_dir.path() / "server.env");
    for (std::string line; std::getline(env, line);) {
      auto equals = line.find('=');
      if (equals != std::string::npos) m_values[line.substr(0, equals)] = line.substr(equals + 1);
    }
  }

  test::TempDir m_dir;
  std::map<std::string, std::string> m_values;
};

struct S3Fixture : test::ConformanceFixture {
  asio::thread_pool pool{2};
  std::string prefix = "conformance/" + generate_uuid().substr(0, 12);
  bool https = false;

  target::S3Options options(std::string bucket = "offsite-test") const {
    auto& server = Server::get();
    auto endpoint = net::S3Endpoint::parse(server.value(https ? "S3_HTTPS_ENDPOINT" : "S3_ENDPOINT"), "us-east-1");
    BOOST_TEST_REQUIRE(endpoint.has_value());
    endpoint->path_style = true;
    endpoint->bucket = std::move(bucket);
    if (https) endpoint->ca_file = server.value("S3_CA_FILE");
    target::S3Options out;
    out.endpoint = std::move(*endpoint);
    out.credentials = {server.value("S3_ACCESS_KEY"), read_text(server.value("S3_SECRET_KEY_FILE")), ""};
    out.prefix = prefix;
    out.folder = "SiteManager1";
    out.chunk_size = chunk_size();
    return out;
  }

  std::unique_ptr<target::Target> make_target() override { return std::make_unique<S3Target>(options(), pool); }
  std::pair<std::unique_ptr<target::Target>, std::string> make_target_on_missing_path() override {
    return {std::make_unique<S3Target>(options("no-such-bucket"), pool), "no-such-bucket"};
  }
  std::uint64_t chunk_size() const override { return 5 * k_mib; }
  std::uint64_t large_file_size() const override { return 23 * k_mib; }
};

struct S3HttpsFixture : S3Fixture {
  S3HttpsFixture() { https = true; }
};

// Runs `body` with a connected S3Target of `fixture`.
template <class Body> void with_target(S3Fixture& fixture, Body body) {
  auto made = std::make_unique<S3Target>(fixture.options(), fixture.pool);
  auto& target = *made;
  auto run = [&]() -> asio::awaitable<void> {
    OFFSITE_CO_REQUIRE_OK(target.connect(), "connect");
    OFFSITE_CO_REQUIRE_OK(target.make_directory(""), "make_directory");
    co_await body(fixture, target);
  };
  test::run_coro(std::move(run));
}

asio::awaitable<void> expect_no_unfinished_uploads(S3Target& target) {
  auto left = co_await target.unfinished_uploads();
  require_ok(left, "unfinished_uploads");
  BOOST_TEST(left->empty());
}

} // namespace

BOOST_AUTO_TEST_SUITE(conformance_s3)
OFFSITE_TARGET_CONFORMANCE(S3Fixture)
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(conformance_s3_https)
OFFSITE_TARGET_CONFORMANCE(S3HttpsFixture)
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(target_s3)

// A run dies after two parts; the next run (a new target, no token: the journal never had the
// upload ID) finds the upload by its key, continues at part 3, and leaves no upload behind.
BOOST_FIXTURE_TEST_CASE(a_new_run_continues_an_unfinished_multipart_upload, S3Fixture) {
  auto chunk = chunk_size();
  std::string content = pattern(3 * chunk + 1234, 21);
  with_target(*this, [&](S3Fixture&, S3Target& first) -> asio::awaitable<void> {
    auto options = UploadOptions{0, content.size(), {}};
    auto started = co_await first.start_upload("big.img", options);
    require_ok(started, "start_upload");
    BOOST_TEST(!(*started)->resume_token().empty()); // created up front, so a token exists at once
    for (int i = 0; i < 2; ++i)
      OFFSITE_CO_REQUIRE_OK((*started)->write(bytes_of(content.substr(i * chunk, chunk))), "write");
    OFFSITE_CO_REQUIRE_OK((*started)->abort(), "abort");
  });
  with_target(*this, [&](S3Fixture&, S3Target& second) -> asio::awaitable<void> {
    OFFSITE_CO_EXPECT_ERROR(second.stat("big.img"), ErrorKind::not_found, "an unfinished upload is invisible");
    auto confirmed = co_await second.uploaded_size("big.img", "");
    require_ok(confirmed, "uploaded_size without a token");
    BOOST_TEST(*confirmed == 2 * chunk);
    auto options = UploadOptions{*confirmed, content.size(), {}};
    auto resumed = co_await second.start_upload("big.img", options);
    require_ok(resumed, "start_upload at the confirmed size");
    auto rest = content.substr(*confirmed);
    for (std::size_t at = 0; at < rest.size(); at += chunk)
      OFFSITE_CO_REQUIRE_OK((*resumed)->write(bytes_of(rest.substr(at, chunk))), "write after resume");
    auto size = co_await (*resumed)->finish();
    require_ok(size, "finish");
    BOOST_TEST(*size == content.size());
    auto downloaded = co_await download_all(second, "big.img");
    BOOST_TEST((downloaded == content));
    co_await expect_no_unfinished_uploads(second);
  });
}

// The upload finished but its answer was lost: the complete object's bytes are reused through
// server-side part copies, and only the tail is sent again.
BOOST_FIXTURE_TEST_CASE(a_complete_object_is_continued_by_copying_its_prefix, S3Fixture) {
  auto chunk = chunk_size();
  std::string content = pattern(2 * chunk + 100, 22);
  with_target(*this, [&](S3Fixture&, S3Target& target) -> asio::awaitable<void> {
    auto written = co_await offsite::test::conformance::upload_whole(target, "done.img", content);
    BOOST_TEST(written == content.size());
    auto confirmed = co_await target.uploaded_size("done.img", "");
    require_ok(confirmed, "uploaded_size of a complete object");
    BOOST_TEST(*confirmed == content.size());
    auto offset = *confirmed / chunk * chunk;
    auto options = UploadOptions{offset, content.size(), {}};
    auto resumed = co_await target.start_upload("done.img", options);
    require_ok(resumed, "start_upload");
    OFFSITE_CO_REQUIRE_OK((*resumed)->write(bytes_of(content.substr(offset))), "write the tail");
    auto size = co_await (*resumed)->finish();
    require_ok(size, "finish");
    auto downloaded = co_await download_all(target, "done.img");
    BOOST_TEST((downloaded == content));
    co_await expect_no_unfinished_uploads(target);
  });
}

// Recovery removes the journal's paths of an uncommitted transaction: that must abort their
// unfinished uploads, which no listing of objects shows.
BOOST_FIXTURE_TEST_CASE(remove_aborts_unfinished_uploads, S3Fixture) {
  with_target(*this, [&](S3Fixture& fixture, S3Target& target) -> asio::awaitable<void> {
    auto chunk = fixture.chunk_size();
    auto options = UploadOptions{0, 3 * chunk, {}};
    auto started = co_await target.start_upload("tx/1/staged", options);
    require_ok(started, "start_upload");
    OFFSITE_CO_REQUIRE_OK((*started)->write(bytes_of(pattern(chunk, 5))), "write");
    OFFSITE_CO_REQUIRE_OK((*started)->abort(), "abort");
    auto before = co_await target.unfinished_uploads();
    require_ok(before, "unfinished_uploads");
    BOOST_TEST((*before == std::vector<std::string>{"tx/1/staged"}));
    OFFSITE_CO_REQUIRE_OK(target.remove("tx/1/staged"), "remove of an unfinished upload");
    co_await expect_no_unfinished_uploads(target);
    OFFSITE_CO_EXPECT_ERROR(target.remove("tx/1/staged"), ErrorKind::not_found, "remove again");
    OFFSITE_CO_EXPECT_ERROR(target.uploaded_size("tx/1/staged", ""), ErrorKind::not_found, "uploaded_size");
  });
}

// Above CopyObject's limit (lowered here from 5 GiB), copies go part by part with UploadPartCopy.
BOOST_FIXTURE_TEST_CASE(large_copies_use_upload_part_copy, S3Fixture) {
  auto settings = options();
  settings.single_copy_limit = 10 * k_mib;
  settings.copy_part_size = 10 * k_mib;
  S3Target target(settings, pool);
  std::string content = pattern(23 * k_mib + 7, 23);
  auto run = [&]() -> asio::awaitable<void> {
    OFFSITE_CO_REQUIRE_OK(target.connect(), "connect");
    co_await offsite::test::conformance::upload_whole(target, "source", content);
    OFFSITE_CO_REQUIRE_OK(target.rename_to_new("source", "moved/there"), "rename (copy + delete)");
    OFFSITE_CO_EXPECT_ERROR(target.stat("source"), ErrorKind::not_found, "the source is gone");
    auto downloaded = co_await download_all(target, "moved/there");
    BOOST_TEST((downloaded == content));
    co_await expect_no_unfinished_uploads(target);
  };
  test::run_coro(std::move(run));
}

BOOST_FIXTURE_TEST_CASE(a_wrong_secret_is_a_permanent_error_naming_the_action, S3Fixture) {
  auto settings = options();
  settings.credentials.secret_access_key = "not-the-secret-" + generate_uuid();
  S3Target target(settings, pool);
  auto run = [&]() -> asio::awaitable<void> {
    auto connected = co_await target.connect();
    BOOST_TEST_REQUIRE(!connected.has_value());
    BOOST_TEST(connected.error().kind == ErrorKind::permanent);
    BOOST_TEST(connected.error().message.find("ListObjectsV2") != std::string::npos, connected.error().message);
    BOOST_TEST(connected.error().message.find("403") != std::string::npos, connected.error().message);
    BOOST_TEST(connected.error().message.find(settings.credentials.secret_access_key) == std::string::npos);
    BOOST_TEST(connected.error().message.find(options().credentials.secret_access_key) == std::string::npos);
  };
  test::run_coro(std::move(run));
}

BOOST_FIXTURE_TEST_CASE(bad_answers_become_clear_errors, S3Fixture) {
  auto& server = Server::get();
  with_target(*this, [&](S3Fixture& fixture, S3Target& target) -> asio::awaitable<void> {
    auto scoped = "\"prefix\": \"" + fixture.prefix + "/\"";
    server.control("POST", "faults", "{\"action\": \"PutObject\", \"mode\": \"status\", " + scoped + "}");
    auto slow = co_await target.write_new_file("a", "x");
    BOOST_TEST_REQUIRE(!slow.has_value());
    BOOST_TEST(slow.error().kind == ErrorKind::transient, slow.error().message);
    BOOST_TEST(slow.error().message.find("SlowDown") != std::string::npos, slow.error().message);

    server.control("POST", "faults",
                   "{\"action\": \"PutObject\", \"mode\": \"status\", \"status\": 403, " + scoped + "}");
    auto denied = co_await target.write_new_file("a", "x");
    BOOST_TEST_REQUIRE(!denied.has_value());
    BOOST_TEST(denied.error().kind == ErrorKind::permanent);
    BOOST_TEST(denied.error().message.find("PutObject") != std::string::npos, denied.error().message);
    BOOST_TEST(denied.error().message.find("/a") != std::string::npos, denied.error().message);

    server.control("POST", "faults", "{\"action\": \"CompleteMultipartUpload\", \"mode\": \"error200\"}");
    auto chunk = fixture.chunk_size();
    auto options = UploadOptions{0, 2 * chunk, {}};
    auto started = co_await target.start_upload("multi", options);
    require_ok(started, "start_upload");
    auto content = pattern(2 * chunk, 6);
    OFFSITE_CO_REQUIRE_OK((*started)->write(bytes_of(content)), "write");
    auto finished = co_await (*started)->finish();
    BOOST_TEST_REQUIRE(!finished.has_value());
    BOOST_TEST(finished.error().kind == ErrorKind::transient, finished.error().message);
    BOOST_TEST(finished.error().message.find("InternalError") != std::string::npos, finished.error().message);
    OFFSITE_CO_EXPECT_ERROR(target.stat("multi"), ErrorKind::not_found, "no object after a failed completion");
    OFFSITE_CO_REQUIRE_OK(target.remove("multi"), "remove aborts the upload");

    server.control("POST", "faults", "{\"action\": \"ListObjectsV2\", \"mode\": \"malformed\"}");
    auto listed = co_await target.list("");
    BOOST_TEST_REQUIRE(!listed.has_value());
    BOOST_TEST(listed.error().kind == ErrorKind::permanent);
    BOOST_TEST(listed.error().message.find("malformed XML") != std::string::npos, listed.error().message);
    server.control("DELETE", "faults");
    co_await expect_no_unfinished_uploads(target);
  });
}

// A request cancelled while the server sits on it (here: a timer wins the race) ends at once and
// leaves no transfer in the multi; the next request works.
BOOST_FIXTURE_TEST_CASE(a_cancelled_request_ends_at_once, S3Fixture) {
  auto& server = Server::get();
  with_target(*this, [&](S3Fixture& fixture, S3Target& target) -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    server.control("POST", "faults",
                   "{\"action\": \"HeadObject\", \"mode\": \"delay\", \"delay_ms\": 5000, \"prefix\": \"" +
                       fixture.prefix + "/\"}");
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(200));
    auto started = std::chrono::steady_clock::now();
    auto stat = target.stat("slow");
    auto wait = timer.async_wait(asio::use_awaitable);
    auto winner = co_await (std::move(stat) || std::move(wait));
    auto took = std::chrono::steady_clock::now() - started;
    BOOST_TEST(winner.index() == 1u); // the timer
    BOOST_TEST(took < std::chrono::seconds(2));
    auto http = net::CurlMulti::of(co_await asio::this_coro::executor);
    BOOST_TEST(http->active() == 0u);
    server.control("DELETE", "faults");
    OFFSITE_CO_REQUIRE_OK(target.write_new_file("after", "x"), "a request after the cancelled one");
  });
}

// TLS is verified: without the test CA as ca_file, the server's certificate is refused.
BOOST_FIXTURE_TEST_CASE(an_untrusted_certificate_is_refused, S3HttpsFixture) {
  auto settings = options();
  settings.endpoint.ca_file.clear();
  S3Target target(settings, pool);
  auto run = [&]() -> asio::awaitable<void> {
    auto connected = co_await target.connect();
    BOOST_TEST_REQUIRE(!connected.has_value());
    BOOST_TEST(connected.error().kind == ErrorKind::permanent, connected.error().message);
    BOOST_TEST(connected.error().message.find("certificate") != std::string::npos, connected.error().message);
  };
  test::run_coro(std::move(run));
}

// storage_class and server_side_encryption reach every object, however it was made.
BOOST_FIXTURE_TEST_CASE(storage_class_and_encryption_are_sent_on_every_creation, S3Fixture) {
  auto settings = options();
  settings.endpoint.storage_class = "STANDARD_IA";
  settings.endpoint.server_side_encryption = "AES256";
  S3Target target(settings, pool);
  auto chunk = chunk_size();
  auto run = [&]() -> asio::awaitable<void> {
    OFFSITE_CO_REQUIRE_OK(target.connect(), "connect");
    OFFSITE_CO_REQUIRE_OK(target.write_new_file("small", "x"), "write_new_file");
    co_await offsite::test::conformance::upload_whole(target, "multi", pattern(2 * chunk + 1, 8));
    OFFSITE_CO_REQUIRE_OK(target.copy("small", "copied"), "copy");
  };
  test::run_coro(std::move(run));
  auto objects = Server::get().fetch("objects?bucket=offsite-test");
  for (const char* name : {"small", "multi", "copied"}) {
    BOOST_TEST_CONTEXT(name) {
      auto at = objects.find("SiteManager1/" + std::string(name) + "\"");
      BOOST_TEST_REQUIRE(at != std::string::npos);
      auto entry = objects.substr(at, objects.find('}', objects.find("\"sse\"", at)) - at);
      BOOST_TEST(entry.find("STANDARD_IA") != std::string::npos, entry);
      BOOST_TEST(entry.find("AES256") != std::string::npos, entry);
    }
  }
}

// One multi per loop: many requests reuse a few easy handles and connections.
BOOST_FIXTURE_TEST_CASE(requests_reuse_handles, S3Fixture) {
  with_target(*this, [&](S3Fixture&, S3Target& target) -> asio::awaitable<void> {
    for (int i = 0; i < 20; ++i)
      OFFSITE_CO_REQUIRE_OK(target.write_new_file("f" + std::to_string(i), "x"), "write_new_file");
    auto http = net::CurlMulti::of(co_await asio::this_coro::executor);
    BOOST_TEST(http->handles_created() <= 3u);
    BOOST_TEST(http->active() == 0u);
  });
}

BOOST_AUTO_TEST_SUITE_END()
