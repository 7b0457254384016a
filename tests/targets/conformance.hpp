#pragma once
// The cases every Target must pass (restic's backend tests, rclone's fstests). A target is done
// only when this suite passes against its real server.
//
// Use from any Boost.Test executable (one that links tests/unit/main.cpp):
//
//   struct SftpFixture : offsite::test::ConformanceFixture {
//     std::unique_ptr<offsite::target::Target> make_target() override { ... }   // fresh, empty root
//   };
//   BOOST_AUTO_TEST_SUITE(target_sftp)
//   OFFSITE_TARGET_CONFORMANCE(SftpFixture)
//   BOOST_AUTO_TEST_SUITE_END()
//
// Each case gets a new fixture and a new target, already connected, with make_directory("")
// done. A case that cannot run says why on stderr ("SKIP <case>: <reason>") and passes.

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <asio/awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include "support/run_coro.hpp"
#include "target/target.hpp"
#include "util/hash128.hpp"

// g++ 12 pairs Asio's coroutine frame operator new/delete wrongly when it inlines them into these
// long coroutines (GCC PR 109224): a false positive.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace offsite::test {

class ConformanceFixture {
public:
  virtual ~ConformanceFixture() = default;

  // A target on a fresh, empty root.
  virtual std::unique_ptr<target::Target> make_target() = 0;
  // A target whose configured target path does not exist, and a name its connect() error must
  // mention; {nullptr, ""} when the fixture cannot make one.
  virtual std::pair<std::unique_ptr<target::Target>, std::string> make_target_on_missing_path() { return {}; }
  // Makes the existing directory `dir` (relative to the root) read-only for the target; nullopt
  // when done, else why it cannot be done (then the case is skipped).
  virtual std::optional<std::string> make_read_only(const std::string& dir) {
    (void)dir;
    return "this fixture cannot make a directory read-only";
  }
  // Names the target must hold and list as written (SMB fixtures drop `"` and friends).
  virtual std::vector<std::string> odd_names() const {
    return {"with space",    "trailing space ", "ünïcödé-名前", "100%",    "%41%2F",    "#hash",   "single'quote",
            "double\"quote", "-leading-dash",   "semi;colon",   "amp&and", "plus+sign", "dollar$", "back`tick",
            "emoji-😀",       "brackets[1]",     "a=b",          ".hidden", "...dots"};
  }
  // The transfer unit for the resume case (S3 fixtures: 5 MiB, the minimum part size).
  virtual std::uint64_t chunk_size() const { return 64 << 10; }
  virtual std::uint64_t large_file_size() const { return 64 << 20; }
  virtual std::size_t large_write_size() const { return 1 << 20; }
};

namespace conformance {

using target::RemoteEntry;
using target::Target;
using target::UploadOptions;

inline void skip(std::string_view why) {
  std::cerr << "SKIP " << boost::unit_test::framework::current_test_case().p_name.get() << ": " << why << "\n";
}

template <class R> void require_ok(const R& result, std::string_view what) {
  if (result.has_value()) return;
  BOOST_FAIL(std::string(what) + " failed: " + result.error().message);
}

template <class R> void expect_error(const R& result, ErrorKind kind, std::string_view what) {
  BOOST_TEST_CONTEXT(what) {
    BOOST_TEST_REQUIRE(!result.has_value());
    BOOST_TEST(result.error().kind == kind);
    BOOST_TEST(!result.error().message.empty());
  }
}

// co_await stays a plain initialiser, never inside a larger expression (GCC 12, tech-notes §6).
#define OFFSITE_CO_REQUIRE_OK(awaitable, what)                                                                         \
  do {                                                                                                                 \
    auto offsite_result = co_await awaitable;                                                                          \
    ::offsite::test::conformance::require_ok(offsite_result, what);                                                    \
  } while (false)
#define OFFSITE_CO_EXPECT_ERROR(awaitable, kind, what)                                                                 \
  do {                                                                                                                 \
    auto offsite_result = co_await awaitable;                                                                          \
    ::offsite::test::conformance::expect_error(offsite_result, kind, what);                                            \
  } while (false)

// Deterministic bytes that differ at every offset and between seeds.
inline std::string pattern(std::size_t size, std::uint64_t seed) {
  std::string bytes(size, '\0');
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    bytes[i] = static_cast<char>(state);
  }
  return bytes;
}

inline std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

inline asio::awaitable<std::uint64_t> upload_whole(Target& target, std::string path, std::string content) {
  // A named local: g++ 12 mis-copies a braced temporary into a coroutine parameter (ASan: bad free).
  auto started_options = UploadOptions{0, content.size(), {}};
  auto started = co_await target.start_upload(path, started_options);
  require_ok(started, "start_upload " + path);
  if (!content.empty()) {
    auto written = co_await (*started)->write(bytes_of(content));
    require_ok(written, "write " + path);
  }
  auto finished = co_await (*started)->finish();
  require_ok(finished, "finish " + path);
  co_return *finished;
}

inline asio::awaitable<std::string> download_all(Target& target, std::string path, std::uint64_t offset = 0) {
  auto opened = co_await target.open_download(path, offset);
  require_ok(opened, "open_download " + path);
  std::string content;
  std::vector<std::byte> buffer(256 << 10);
  for (;;) {
    auto got = co_await (*opened)->read(buffer);
    require_ok(got, "read " + path);
    if (*got == 0) break;
    content.append(reinterpret_cast<const char*>(buffer.data()), *got);
  }
  co_return content;
}

inline asio::awaitable<std::set<std::string>> names_in(Target& target, std::string dir) {
  auto listed = co_await target.list(dir);
  require_ok(listed, "list " + dir);
  std::set<std::string> names;
  for (const auto& entry : *listed)
    names.insert(entry.name);
  co_return names;
}

// --- The cases ----------------------------------------------------------------------------------

inline asio::awaitable<void> missing_paths_are_not_found(ConformanceFixture&, Target& target) {
  OFFSITE_CO_EXPECT_ERROR(target.stat("missing"), ErrorKind::not_found, "stat");
  OFFSITE_CO_EXPECT_ERROR(target.stat("missing-dir/missing"), ErrorKind::not_found, "stat nested");
  OFFSITE_CO_EXPECT_ERROR(target.read_file("missing", 1024), ErrorKind::not_found, "read_file");
  OFFSITE_CO_EXPECT_ERROR(target.remove("missing"), ErrorKind::not_found, "remove");
  OFFSITE_CO_EXPECT_ERROR(target.list("missing-dir"), ErrorKind::not_found, "list");
  OFFSITE_CO_EXPECT_ERROR(target.open_download("missing", 0), ErrorKind::not_found, "open_download");
  OFFSITE_CO_EXPECT_ERROR(target.uploaded_size("missing", ""), ErrorKind::not_found, "uploaded_size");
  OFFSITE_CO_EXPECT_ERROR(target.rename_to_new("missing", "elsewhere"), ErrorKind::not_found, "rename_to_new");
  OFFSITE_CO_EXPECT_ERROR(target.remove_directory("missing-dir"), ErrorKind::not_found, "remove_directory");
  OFFSITE_CO_EXPECT_ERROR(target.stat("elsewhere"), ErrorKind::not_found, "rename created nothing");
}

inline asio::awaitable<void> connect_names_a_missing_target_path(ConformanceFixture& fixture, Target&) {
  auto [missing, name] = fixture.make_target_on_missing_path();
  if (!missing) {
    skip("the fixture cannot make a target on a missing path");
    co_return;
  }
  auto connected = co_await missing->connect();
  BOOST_TEST_REQUIRE(!connected.has_value());
  BOOST_TEST(connected.error().kind != ErrorKind::transient);
  BOOST_TEST(connected.error().message.find(name) != std::string::npos, connected.error().message);
}

inline asio::awaitable<void> paths_outside_the_root_are_refused(ConformanceFixture&, Target& target) {
  std::vector<std::string> refused = {"../escape", "a/../../escape",        "/absolute", "a//b", "./a",
                                      "a/",        std::string("nul\0x", 5)};
  for (const auto& bad : refused) {
    BOOST_TEST_CONTEXT(bad) {
      OFFSITE_CO_EXPECT_ERROR(target.write_new_file(bad, "x"), ErrorKind::permanent, "write_new_file");
      OFFSITE_CO_EXPECT_ERROR(target.stat(bad), ErrorKind::permanent, "stat");
      OFFSITE_CO_EXPECT_ERROR(target.make_directory(bad), ErrorKind::permanent, "make_directory");
    }
  }
  auto root = co_await names_in(target, "");
  BOOST_TEST(root.empty());
}

inline asio::awaitable<void> make_directory_is_idempotent(ConformanceFixture&, Target& target) {
  OFFSITE_CO_REQUIRE_OK(target.make_directory("a/b/c"), "make_directory a/b/c");
  OFFSITE_CO_REQUIRE_OK(target.make_directory("a/b/c"), "make_directory again");
  OFFSITE_CO_REQUIRE_OK(target.make_directory("a"), "make_directory of a parent");
  auto entry = co_await target.stat("a/b");
  require_ok(entry, "stat a/b");
  BOOST_TEST(entry->is_directory);
  BOOST_TEST(entry->name == "b");
  auto in_a = co_await names_in(target, "a");
  BOOST_TEST(in_a == std::set<std::string>{"b"});
  OFFSITE_CO_REQUIRE_OK(target.write_new_file("a/file", "x"), "write_new_file a/file");
  auto over_file = co_await target.make_directory("a/file");
  BOOST_TEST_REQUIRE(!over_file.has_value());
  BOOST_TEST(over_file.error().kind != ErrorKind::transient);
}

inline asio::awaitable<void> write_new_file_refuses_an_existing_name(ConformanceFixture&, Target& target) {
  OFFSITE_CO_REQUIRE_OK(target.write_new_file("records/1.json", "first"), "write_new_file");
  auto content = co_await target.read_file("records/1.json", 1024);
  require_ok(content, "read_file");
  BOOST_TEST(*content == "first");
  auto again = co_await target.write_new_file("records/1.json", "second");
  if (target.capabilities().exclusive_rename) {
    expect_error(again, ErrorKind::already_exists, "write_new_file over an existing name");
    auto kept = co_await target.read_file("records/1.json", 1024);
    require_ok(kept, "read_file after refusal");
    BOOST_TEST(*kept == "first");
  }
  // No temporary names are left beside it.
  auto names = co_await names_in(target, "records");
  BOOST_TEST(names == std::set<std::string>{"1.json"});
}

inline asio::awaitable<void> rename_to_new_refuses_an_existing_name(ConformanceFixture&, Target& target) {
  OFFSITE_CO_REQUIRE_OK(target.write_new_file("staged", "staged bytes"), "write staged");
  OFFSITE_CO_REQUIRE_OK(target.write_new_file("committed", "committed bytes"), "write committed");
  if (target.capabilities().exclusive_rename) {
    OFFSITE_CO_EXPECT_ERROR(target.rename_to_new("staged", "committed"), ErrorKind::already_exists,
                            "rename onto existing");
    auto committed = co_await target.read_file("committed", 1024);
    require_ok(committed, "read committed");
    BOOST_TEST(*committed == "committed bytes");
    auto staged = co_await target.read_file("staged", 1024);
    require_ok(staged, "read staged");
    BOOST_TEST(*staged == "staged bytes");
  }
  OFFSITE_CO_REQUIRE_OK(target.rename_to_new("staged", "new/parents/final"), "rename to a new name");
  OFFSITE_CO_EXPECT_ERROR(target.stat("staged"), ErrorKind::not_found, "the old name is gone");
  auto moved = co_await target.read_file("new/parents/final", 1024);
  require_ok(moved, "read renamed");
  BOOST_TEST(*moved == "staged bytes");
}

inline asio::awaitable<void> read_file_refuses_oversized_files(ConformanceFixture&, Target& target) {
  OFFSITE_CO_REQUIRE_OK(target.write_new_file("big", std::string(100, 'x')), "write_new_file");
  OFFSITE_CO_EXPECT_ERROR(target.read_file("big", 10), ErrorKind::permanent, "read_file over max_size");
  auto exact = co_await target.read_file("big", 100);
  require_ok(exact, "read_file at max_size");
  BOOST_TEST(exact->size() == 100u);
}

inline asio::awaitable<void> upload_resumes_after_abort(ConformanceFixture& fixture, Target& target) {
  auto chunk = fixture.chunk_size();
  auto first = pattern(chunk, 1), second = pattern(chunk, 2), third = pattern(chunk, 3);
  auto started_options = UploadOptions{0, 3 * chunk, {}};
  auto started = co_await target.start_upload("tx/1/file.img", started_options);
  require_ok(started, "start_upload");
  OFFSITE_CO_REQUIRE_OK((*started)->write(bytes_of(first)), "write chunk 1");
  OFFSITE_CO_REQUIRE_OK((*started)->write(bytes_of(second)), "write chunk 2");
  auto token = (*started)->resume_token();
  OFFSITE_CO_REQUIRE_OK((*started)->abort(), "abort");
  started->reset();

  auto confirmed = co_await target.uploaded_size("tx/1/file.img", token);
  require_ok(confirmed, "uploaded_size");
  BOOST_TEST(*confirmed <= 2 * chunk);
  auto resume_at = *confirmed / chunk * chunk;
  auto beyond = UploadOptions{*confirmed + chunk, 3 * chunk, token};
  OFFSITE_CO_EXPECT_ERROR(target.start_upload("tx/1/file.img", beyond), ErrorKind::permanent,
                          "start_upload beyond the confirmed size");

  auto resumed_options = UploadOptions{resume_at, 3 * chunk, token};
  auto resumed = co_await target.start_upload("tx/1/file.img", resumed_options);
  require_ok(resumed, "start_upload at the resume offset");
  std::string expected = first + second + third;
  auto rest = expected.substr(resume_at);
  // Rewritten in chunk-sized writes, as the engine does.
  for (std::size_t at = 0; at < rest.size(); at += chunk)
    OFFSITE_CO_REQUIRE_OK((*resumed)->write(bytes_of(rest.substr(at, chunk))), "write after resume");
  auto size = co_await (*resumed)->finish();
  require_ok(size, "finish");
  BOOST_TEST(*size == 3 * chunk);
  auto done = co_await target.uploaded_size("tx/1/file.img", (*resumed)->resume_token());
  require_ok(done, "uploaded_size after finish");
  BOOST_TEST(*done == 3 * chunk);
  auto downloaded = co_await download_all(target, "tx/1/file.img");
  BOOST_TEST(downloaded == expected);
}

inline asio::awaitable<void> upload_at_zero_replaces_a_partial_file(ConformanceFixture&, Target& target) {
  auto long_size = co_await upload_whole(target, "partial", pattern(5000, 7));
  BOOST_TEST(long_size == 5000u);
  auto short_size = co_await upload_whole(target, "partial", "short");
  BOOST_TEST(short_size == 5u);
  auto downloaded = co_await download_all(target, "partial");
  BOOST_TEST(downloaded == "short");
}

inline asio::awaitable<void> empty_files_round_trip(ConformanceFixture&, Target& target) {
  auto uploaded = co_await upload_whole(target, "dir/empty", "");
  BOOST_TEST(uploaded == 0u);
  auto entry = co_await target.stat("dir/empty");
  require_ok(entry, "stat");
  BOOST_TEST(!entry->is_directory);
  BOOST_TEST(entry->size == 0u);
  auto content = co_await target.read_file("dir/empty", 10);
  require_ok(content, "read_file");
  BOOST_TEST(content->empty());
  auto downloaded = co_await download_all(target, "dir/empty");
  BOOST_TEST(downloaded.empty());
  OFFSITE_CO_REQUIRE_OK(target.write_new_file("dir/empty-new", ""), "write_new_file empty");
  auto written = co_await target.stat("dir/empty-new");
  require_ok(written, "stat empty-new");
  BOOST_TEST(written->size == 0u);
}

inline asio::awaitable<void> large_files_stream_in_chunks(ConformanceFixture& fixture, Target& target) {
  auto total = fixture.large_file_size();
  auto unit = fixture.large_write_size();
  auto started_options = UploadOptions{0, total, {}};
  auto started = co_await target.start_upload("large.img", started_options);
  require_ok(started, "start_upload");
  Xxh3Hasher sent;
  for (std::uint64_t at = 0, n = 0; at < total; at += unit, ++n) {
    auto piece = pattern(static_cast<std::size_t>(std::min<std::uint64_t>(unit, total - at)), 100 + n);
    sent.update(piece);
    OFFSITE_CO_REQUIRE_OK((*started)->write(bytes_of(piece)), "write");
  }
  auto size = co_await (*started)->finish();
  require_ok(size, "finish");
  BOOST_TEST(*size == total);
  auto entry = co_await target.stat("large.img");
  require_ok(entry, "stat");
  BOOST_TEST(entry->size == total);

  auto opened = co_await target.open_download("large.img", 0);
  require_ok(opened, "open_download");
  Xxh3Hasher received;
  std::uint64_t got_total = 0;
  std::vector<std::byte> buffer(unit);
  for (;;) {
    auto got = co_await (*opened)->read(buffer);
    require_ok(got, "read");
    if (*got == 0) break;
    received.update(std::span(buffer).first(*got));
    got_total += *got;
  }
  BOOST_TEST(got_total == total);
  BOOST_TEST(received.digest().to_hex() == sent.digest().to_hex());
}

inline asio::awaitable<void> downloads_start_at_an_offset(ConformanceFixture&, Target& target) {
  auto content = pattern(10000, 9);
  co_await upload_whole(target, "file", content);
  auto tail = co_await download_all(target, "file", 1234);
  BOOST_TEST(tail == content.substr(1234));
  auto past_end = co_await download_all(target, "file", 10000);
  BOOST_TEST(past_end.empty());
}

inline asio::awaitable<void> odd_names_are_listed_as_written(ConformanceFixture& fixture, Target& target) {
  std::set<std::string> written;
  for (const auto& name : fixture.odd_names()) {
    OFFSITE_CO_REQUIRE_OK(target.write_new_file("odd/" + name, name), "write_new_file " + name);
    written.insert(name);
  }
  auto listed = co_await names_in(target, "odd");
  BOOST_TEST(listed == written);
  for (const auto& name : fixture.odd_names()) {
    BOOST_TEST_CONTEXT(name) {
      auto entry = co_await target.stat("odd/" + name);
      require_ok(entry, "stat " + name);
      BOOST_TEST(entry->name == name);
      BOOST_TEST(entry->size == name.size());
      auto content = co_await target.read_file("odd/" + name, 1024);
      require_ok(content, "read_file " + name);
      BOOST_TEST(*content == name);
    }
  }
}

inline asio::awaitable<void> list_reports_kinds_and_sizes(ConformanceFixture&, Target& target) {
  OFFSITE_CO_REQUIRE_OK(target.make_directory("dir/sub"), "make_directory");
  co_await upload_whole(target, "dir/file", pattern(321, 4));
  auto listed = co_await target.list("dir");
  require_ok(listed, "list");
  std::sort(listed->begin(), listed->end(), [](auto& a, auto& b) { return a.name < b.name; });
  BOOST_TEST_REQUIRE(listed->size() == 2u);
  BOOST_TEST((*listed)[0].name == "file");
  BOOST_TEST(!(*listed)[0].is_directory);
  BOOST_TEST((*listed)[0].size == 321u);
  BOOST_TEST((*listed)[1].name == "sub");
  BOOST_TEST((*listed)[1].is_directory);
  auto root = co_await names_in(target, "");
  BOOST_TEST(root == std::set<std::string>{"dir"});
  auto of_file = co_await target.list("dir/file");
  BOOST_TEST(!of_file.has_value());
}

inline asio::awaitable<void> remove_then_stat_is_not_found(ConformanceFixture&, Target& target) {
  OFFSITE_CO_REQUIRE_OK(target.write_new_file("dir/file", "x"), "write_new_file");
  OFFSITE_CO_REQUIRE_OK(target.remove("dir/file"), "remove");
  OFFSITE_CO_EXPECT_ERROR(target.stat("dir/file"), ErrorKind::not_found, "stat after remove");
  OFFSITE_CO_EXPECT_ERROR(target.remove("dir/file"), ErrorKind::not_found, "remove twice");
  auto directory = co_await target.remove("dir");
  BOOST_TEST(!directory.has_value()); // remove() is for files
  OFFSITE_CO_REQUIRE_OK(target.write_new_file("dir/other", "x"), "write_new_file other");
  auto not_empty = co_await target.remove_directory("dir");
  BOOST_TEST_REQUIRE(!not_empty.has_value());
  BOOST_TEST(not_empty.error().kind != ErrorKind::transient);
  OFFSITE_CO_REQUIRE_OK(target.remove("dir/other"), "remove other");
  OFFSITE_CO_REQUIRE_OK(target.remove_directory("dir"), "remove_directory");
  OFFSITE_CO_EXPECT_ERROR(target.stat("dir"), ErrorKind::not_found, "stat removed directory");
}

inline asio::awaitable<void> copy_where_supported(ConformanceFixture&, Target& target) {
  OFFSITE_CO_REQUIRE_OK(target.write_new_file("source", "copied bytes"), "write source");
  OFFSITE_CO_REQUIRE_OK(target.write_new_file("old", "old bytes"), "write old");
  if (!target.capabilities().server_side_copy) {
    OFFSITE_CO_EXPECT_ERROR(target.copy("source", "destination"), ErrorKind::unsupported, "copy");
    co_return;
  }
  OFFSITE_CO_REQUIRE_OK(target.copy("source", "deep/destination"), "copy");
  OFFSITE_CO_REQUIRE_OK(target.copy("source", "old"), "copy over an existing file");
  for (const char* path : {"source", "deep/destination", "old"}) {
    auto content = co_await target.read_file(path, 1024);
    require_ok(content, path);
    BOOST_TEST(*content == "copied bytes");
  }
  OFFSITE_CO_EXPECT_ERROR(target.copy("missing", "x"), ErrorKind::not_found, "copy of a missing file");
}

inline asio::awaitable<void> read_only_directory_gives_a_permanent_error(ConformanceFixture& fixture, Target& target) {
  OFFSITE_CO_REQUIRE_OK(target.make_directory("locked"), "make_directory");
  if (auto why = fixture.make_read_only("locked")) {
    skip(*why);
    co_return;
  }
  auto written = co_await target.write_new_file("locked/record", "x");
  BOOST_TEST_REQUIRE(!written.has_value());
  BOOST_TEST(written.error().kind == ErrorKind::permanent);
  BOOST_TEST(written.error().message.find("locked") != std::string::npos, written.error().message);
  auto started_options = UploadOptions{};
  auto started = co_await target.start_upload("locked/file", started_options);
  BOOST_TEST_REQUIRE(!started.has_value());
  BOOST_TEST(started.error().kind == ErrorKind::permanent);
  BOOST_TEST(started.error().message.find("locked/file") != std::string::npos, started.error().message);
}

inline asio::awaitable<void> free_space_is_reported_where_claimed(ConformanceFixture&, Target& target) {
  auto space = co_await target.free_space();
  require_ok(space, "free_space");
  if (target.capabilities().reports_free_space) {
    BOOST_TEST_REQUIRE(space->has_value());
    BOOST_TEST(**space > 0u);
  } else {
    BOOST_TEST(!space->has_value());
  }
}

inline asio::awaitable<void> describe_names_the_target(ConformanceFixture&, Target& target) {
  BOOST_TEST(!target.describe().empty());
  auto caps = target.capabilities();
  BOOST_TEST(caps.max_connections >= 1);
  co_return;
}

using Case = asio::awaitable<void> (*)(ConformanceFixture&, Target&);

// A fresh target on the fixture's root, connected, root created; then the case.
inline void run_case(ConformanceFixture& fixture, Case test_case) {
  // Declared first, so it outlives the target: a target may hold sockets on it (SFTP's pool).
  asio::io_context io;
  auto target = fixture.make_target();
  BOOST_TEST_REQUIRE(target.get() != nullptr);
  auto body = [&]() -> asio::awaitable<void> {
    OFFSITE_CO_REQUIRE_OK(target->connect(), "connect");
    OFFSITE_CO_REQUIRE_OK(target->make_directory(""), "make_directory of the root");
    co_await test_case(fixture, *target);
  };
  run_coro(io, std::move(body));
}

} // namespace conformance
} // namespace offsite::test

#define OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, name)                                                                 \
  BOOST_FIXTURE_TEST_CASE(name, Fixture) {                                                                             \
    ::offsite::test::conformance::run_case(*this, &::offsite::test::conformance::name);                                \
  }

// Every conformance case as a Boost.Test case of the current suite, each on a new `Fixture`.
#define OFFSITE_TARGET_CONFORMANCE(Fixture)                                                                            \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, missing_paths_are_not_found)                                                \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, connect_names_a_missing_target_path)                                        \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, paths_outside_the_root_are_refused)                                         \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, make_directory_is_idempotent)                                               \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, write_new_file_refuses_an_existing_name)                                    \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, rename_to_new_refuses_an_existing_name)                                     \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, read_file_refuses_oversized_files)                                          \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, upload_resumes_after_abort)                                                 \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, upload_at_zero_replaces_a_partial_file)                                     \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, empty_files_round_trip)                                                     \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, large_files_stream_in_chunks)                                               \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, downloads_start_at_an_offset)                                               \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, odd_names_are_listed_as_written)                                            \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, list_reports_kinds_and_sizes)                                               \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, remove_then_stat_is_not_found)                                              \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, copy_where_supported)                                                       \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, read_only_directory_gives_a_permanent_error)                                \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, free_space_is_reported_where_claimed)                                       \
  OFFSITE_TARGET_CONFORMANCE_CASE(Fixture, describe_names_the_target)
