#include "manifest/manifest.hpp"

#include <boost/test/unit_test.hpp>
#include <cctype>
#include <functional>
#include <string>

#include "samples.hpp"

using namespace offsite;
using namespace offsite::manifest;
using namespace offsite::manifest::test;

namespace {

constexpr std::string_view k_record_name = "sftp://nas/offsite/.offsite/commits/7.json";
constexpr std::string_view k_manifest_name = "folders/m.json";
constexpr std::string_view k_journal_name = "tx/j/journal.json";
constexpr std::string_view k_lease_name = "lock/l.json";

// Reads back a value edited after it was built: the writer does not check, the reader must.
Result<CommitRecord> record_with(const std::function<void(CommitRecord&)>& edit) {
  CommitRecord record = sample_record();
  edit(record);
  return read_commit_record(write_commit_record(record), k_record_name);
}
Result<FolderManifest> manifest_with(const std::function<void(FolderManifest&)>& edit) {
  FolderManifest manifest = sample_manifest();
  edit(manifest);
  return read_folder_manifest(write_folder_manifest(manifest), k_manifest_name);
}
Result<Journal> journal_with(const std::function<void(Journal&)>& edit) {
  Journal journal = sample_journal();
  edit(journal);
  return read_journal(write_journal(journal), k_journal_name);
}
Result<Lease> lease_with(const std::function<void(Lease&)>& edit) {
  Lease lease = sample_lease();
  edit(lease);
  return read_lease(write_lease(lease), k_lease_name);
}

// The sample manifest's JSON with one edit.
Result<FolderManifest> manifest_text(std::string_view from, std::string_view to) {
  return read_folder_manifest(replace(write_folder_manifest(sample_manifest()), from, to), k_manifest_name);
}

} // namespace

BOOST_AUTO_TEST_SUITE(manifest_json_read)

BOOST_AUTO_TEST_CASE(rejects_what_is_not_json) {
  expect_rejected(read_folder_manifest("", k_manifest_name), k_manifest_name, "", "not valid JSON");
  expect_rejected(read_folder_manifest("[]", k_manifest_name), k_manifest_name, "document", "expected an object");
  expect_rejected(read_folder_manifest(write_folder_manifest(sample_manifest()) + "{}", k_manifest_name),
                  k_manifest_name, "", "not valid JSON");
  expect_rejected(manifest_text("inc 1", "inc \xff"), k_manifest_name, "", "not valid JSON");
  expect_rejected(read_lease(std::string(write_lease(sample_lease())).substr(0, 40), k_lease_name), k_lease_name, "",
                  "not valid JSON");
}

BOOST_AUTO_TEST_CASE(rejects_a_missing_or_foreign_format) {
  expect_rejected(manifest_text(R"("format":"offsite/1",)", ""), k_manifest_name, "format", "missing");
  expect_rejected(manifest_text("offsite/1", "offsite/2"), k_manifest_name, "format", "is not offsite/1");
  expect_rejected(read_commit_record(edited_record("offsite/1", "offsite/0"), k_record_name), k_record_name, "format");
  expect_rejected(read_journal(replace(write_journal(sample_journal()), "offsite/1", "x"), k_journal_name),
                  k_journal_name, "format");
  expect_rejected(read_lease(replace(write_lease(sample_lease()), R"("offsite/1")", "1"), k_lease_name), k_lease_name,
                  "format", "expected a string");
}

BOOST_AUTO_TEST_CASE(rejects_wrong_types) {
  expect_rejected(read_commit_record(edited_record(R"("generation":7)", R"("generation":"7")"), k_record_name),
                  k_record_name, "generation", "expected an unsigned integer");
  expect_rejected(read_commit_record(edited_record(R"("parent":6)", R"("parent":6.0)"), k_record_name), k_record_name,
                  "parent", "expected an unsigned integer");
  CommitRecord empty = sample_record();
  empty.folders.clear();
  std::string object_folders = replace(body_of(write_commit_record(empty)), R"("folders":[])", R"("folders":{})");
  expect_rejected(read_commit_record(seal(object_folders), k_record_name), k_record_name, "folders",
                  "expected an array");
  expect_rejected(read_commit_record(edited_record(R"("bytes":123456)", R"("bytes":-1)"), k_record_name), k_record_name,
                  "folders[0].bytes", "expected an unsigned integer");
  expect_rejected(manifest_text(R"("size":40)", R"("size":1e3)"), k_manifest_name, "files[0].size");
  expect_rejected(manifest_text(R"("size":40)", R"("size":18446744073709551616)"), k_manifest_name, "");
  expect_rejected(manifest_text(R"("mtime_ns":-5)", R"("mtime_ns":9223372036854775808)"), k_manifest_name,
                  "files[1].mtime_ns", "expected a 64-bit integer");
  expect_rejected(manifest_text(R"("files":[)", R"("files":[1,)"), k_manifest_name, "files[0]", "expected an object");
  expect_rejected(manifest_text(R"("chunks":[)", R"("chunks":[null,)"), k_manifest_name, "files[0].chunks[0]",
                  "expected a string");
  expect_rejected(
      read_journal(replace(write_journal(sample_journal()), R"("direct":true)", R"("direct":1)"), k_journal_name),
      k_journal_name, "entries[1].direct", "expected true or false");
  expect_rejected(read_lease(replace(write_lease(sample_lease()), R"("pid":4242)", R"("pid":"4242")"), k_lease_name),
                  k_lease_name, "pid", "expected a 64-bit integer");
}

BOOST_AUTO_TEST_CASE(rejects_missing_members) {
  expect_rejected(manifest_text(R"("txid":")" + k_txid + R"(",)", ""), k_manifest_name, "txid", "missing");
  expect_rejected(manifest_text(R"("size":40,)", ""), k_manifest_name, "files[0].size", "missing");
  expect_rejected(read_commit_record(edited_record(R"(,"pending":[)", R"(,"later":[)"), k_record_name), k_record_name,
                  "pending", "missing");
  expect_rejected(read_journal(replace(write_journal(sample_journal()), R"("size":5,)", ""), k_journal_name),
                  k_journal_name, "entries[1].size", "missing");
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_keys_anywhere) {
  expect_rejected(
      read_commit_record(edited_record(R"("generation":7,)", R"("generation":7,"generation":8,)"), k_record_name),
      k_record_name, "generation", "appears twice");
  expect_rejected(manifest_text(R"("size":40,)", R"("size":40,"size":40,)"), k_manifest_name, "files[0].size",
                  "appears twice");
  // Keys compare unescaped: "\u0073ize" is "size".
  expect_rejected(manifest_text(R"("size":40,)", R"("size":40,"\u0073ize":41,)"), k_manifest_name, "files[0].size",
                  "appears twice");
  // Unknown members may repeat no more than known ones.
  expect_rejected(manifest_text(R"("size":40,)", R"("size":40,"x":1,"x":1,)"), k_manifest_name, "files[0].x",
                  "appears twice");
}

BOOST_AUTO_TEST_CASE(accepts_unknown_members) {
  auto record =
      read_commit_record(edited_record(R"("parent":6,)", R"("parent":6,"note":{"any":[1,2.5,null]},)"), k_record_name);
  BOOST_REQUIRE_MESSAGE(record, why(record));
  BOOST_TEST((*record == sample_record()));
  auto manifest = manifest_text(R"("size":40,)", R"("size":40,"owner":"x",)");
  BOOST_REQUIRE_MESSAGE(manifest, why(manifest));
  BOOST_TEST((*manifest == sample_manifest()));
}

BOOST_AUTO_TEST_CASE(rejects_absurd_numbers_and_broken_generations) {
  expect_rejected(record_with([](auto& r) { r.generation = 0, r.parent = 0; }), k_record_name, "generation", "0 is");
  expect_rejected(record_with([](auto& r) { r.generation = k_max_count + 1; }), k_record_name, "generation",
                  "out of range");
  expect_rejected(record_with([](auto& r) { r.parent = 7; }), k_record_name, "parent", "not below");
  expect_rejected(record_with([](auto& r) { r.parent = 9; }), k_record_name, "parent", "not below");
  expect_rejected(record_with([](auto& r) { r.folders[1].generation = 8; }), k_record_name, "folders[1].generation");
  expect_rejected(record_with([](auto& r) { r.folders[1].generation = 0; }), k_record_name, "folders[1].generation");
  expect_rejected(record_with([](auto& r) { r.folders[0].bytes = ~0ull; }), k_record_name, "folders[0].bytes",
                  "out of range");
  expect_rejected(manifest_with([](auto& m) { m.files[1].size = (1ull << 62) + 1; }), k_manifest_name, "files[1].size",
                  "out of range");
  expect_rejected(journal_with([](auto& j) { j.entries[1].size = ~0ull; }), k_journal_name, "entries[1].size");
  expect_rejected(lease_with([](auto& l) { l.pid = 0; }), k_lease_name, "pid");
  expect_rejected(lease_with([](auto& l) { l.pid = -1; }), k_lease_name, "pid");
  expect_rejected(lease_with([](auto& l) { l.sequence = ~0ull; }), k_lease_name, "sequence");
  BOOST_TEST(record_with([](auto& r) { r.parent = 0; }).has_value());
}

BOOST_AUTO_TEST_CASE(rejects_bad_hashes) {
  auto hex = hash_of("full").to_hex();
  std::string upper = hex;
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BOOST_REQUIRE(upper != hex);
  expect_rejected(manifest_text(hex, upper), k_manifest_name, "files[0].xxh3_128", "32 lowercase hex digits");
  expect_rejected(manifest_text(hex, hex.substr(1)), k_manifest_name, "files[0].xxh3_128");
  expect_rejected(manifest_text(hex, "g" + hex.substr(1)), k_manifest_name, "files[0].xxh3_128");
  auto chunk = hash_of("c1").to_hex();
  expect_rejected(manifest_text(chunk, chunk + "0"), k_manifest_name, "files[0].chunks[1]");
  auto manifest_hex = hash_of("manifest 1").to_hex();
  expect_rejected(read_commit_record(edited_record(manifest_hex, "x"), k_record_name), k_record_name,
                  "folders[1].manifest_xxh3_128");
}

BOOST_AUTO_TEST_CASE(rejects_bad_uuids_and_times) {
  std::string upper = "0F8FAD5B-D9CB-469F-A165-70867728950E";
  expect_rejected(record_with([&](auto& r) { r.repository_id = upper; }), k_record_name, "repository_id", "UUID");
  expect_rejected(record_with([](auto& r) { r.txid = "tx-1"; }), k_record_name, "txid", "UUID");
  expect_rejected(manifest_with([](auto& m) { m.txid = ""; }), k_manifest_name, "txid", "UUID");
  expect_rejected(journal_with([](auto& j) { j.txid += " "; }), k_journal_name, "txid", "UUID");
  expect_rejected(lease_with([](auto& l) { l.repository_id = "{" + k_repository_id + "}"; }), k_lease_name,
                  "repository_id");
  expect_rejected(record_with([](auto& r) { r.committed_at = "2026-11-24 22:13:05Z"; }), k_record_name, "committed_at",
                  "RFC 3339");
  expect_rejected(record_with([](auto& r) { r.committed_at = "2026-11-24T22:13:05+01:00"; }), k_record_name,
                  "committed_at");
  expect_rejected(journal_with([](auto& j) { j.created_at = "2026-02-30T00:00:00Z"; }), k_journal_name, "created_at");
  expect_rejected(lease_with([](auto& l) { l.taken_at = ""; }), k_lease_name, "taken_at");
  expect_rejected(lease_with([](auto& l) { l.host = ""; }), k_lease_name, "host", "empty");
}

BOOST_AUTO_TEST_CASE(rejects_paths_that_leave_the_mirror) {
  const char* bad[] = {"..",
                       "../x",
                       "PC-0001/Daily-System/../../etc/passwd",
                       "/etc/passwd",
                       "PC-0001//x",
                       "PC-0001/./x",
                       "PC-0001/Daily-System/",
                       ""};
  for (std::string path : bad) {
    BOOST_TEST_CONTEXT("path " << path) {
      expect_rejected(manifest_with([&](auto& m) { m.files[1].path = path; }), k_manifest_name, "files[1].path");
      expect_rejected(record_with([&](auto& r) { r.pending[0].path = path; }), k_record_name, "pending[0].path");
      expect_rejected(journal_with([&](auto& j) { j.entries[0].path = path; }), k_journal_name, "entries[0].path");
      expect_rejected(record_with([&](auto& r) { r.folders[1].manifest = path; }), k_record_name,
                      "folders[1].manifest");
      if (!path.empty())
        expect_rejected(record_with([&](auto& r) { r.folders[0].path = path; }), k_record_name, "folders[0].path");
    }
  }
  // A NUL can only arrive escaped.
  expect_rejected(manifest_text("inc 1", R"(inc\u00001)"), k_manifest_name, "files[1].path", "NUL");
  // An escaped lone surrogate spells no UTF-8 either.
  expect_rejected(manifest_text("inc 1", R"(inc\udc001)"), k_manifest_name, "");
  // `.offsite/` belongs to offsite, never to the mirror.
  expect_rejected(manifest_with([](auto& m) {
                    m.folder = "";
                    m.files[1].path = ".offsite/commits/8.json";
                  }),
                  k_manifest_name, "files[1].path", ".offsite");
  expect_rejected(record_with([](auto& r) { r.folders[0].path = ".offsite"; }), k_record_name, "folders[0].path");
}

BOOST_AUTO_TEST_CASE(rejects_files_outside_their_folder_and_duplicates) {
  expect_rejected(manifest_with([](auto& m) { m.files[1].path = "PC-0001/Daily-Systemx/a"; }), k_manifest_name,
                  "files[1].path", "not inside the folder");
  expect_rejected(manifest_with([](auto& m) { m.files[1].path = "PC-0001/Daily-System"; }), k_manifest_name,
                  "files[1].path", "not inside the folder");
  expect_rejected(manifest_with([](auto& m) { m.files.push_back(m.files[0]); }), k_manifest_name, "files[2].path",
                  "repeats files[0].path");
  expect_rejected(record_with([](auto& r) { r.folders[1].path = r.folders[0].path; }), k_record_name, "folders[1].path",
                  "repeats");
  expect_rejected(record_with([](auto& r) { r.folders[1].manifest = r.folders[0].manifest; }), k_record_name,
                  "folders[1].manifest", "repeats");
  expect_rejected(record_with([](auto& r) { r.pending.push_back(r.pending[0]); }), k_record_name, "pending[1].path",
                  "repeats");
  expect_rejected(journal_with([](auto& j) { j.entries[1].path = j.entries[1].staged = j.entries[0].path; }),
                  k_journal_name, "entries[1].path", "repeats");
  auto root = manifest_with([](auto& m) {
    m.folder = "";
    m.files[1].path = "top.img";
  });
  BOOST_TEST(root.has_value());
}

BOOST_AUTO_TEST_CASE(checks_chunk_lists) {
  expect_rejected(manifest_with([](auto& m) { m.files[0].chunks.set_chunk_size(0); }), k_manifest_name,
                  "files[0].chunks", "without a chunk_size");
  expect_rejected(manifest_with([](auto& m) { m.files[0].chunks.mutable_hashes().pop_back(); }), k_manifest_name,
                  "files[0].chunks", "2 hashes where size 40 needs 3");
  expect_rejected(manifest_with([](auto& m) { m.files[0].size = 49; }), k_manifest_name, "files[0].chunks");
  expect_rejected(manifest_with([](auto& m) { m.files[1].chunks = ChunkHashes(8, {Hash128{}}); }), k_manifest_name,
                  "files[1].chunks", "needs 0");
  expect_rejected(manifest_text(R"("chunk_size":16,)", ""), k_manifest_name, "files[0].chunks");
  BOOST_TEST(manifest_with([](auto& m) { m.files[0].size = 33; }).has_value());
  BOOST_TEST(manifest_with([](auto& m) { m.files[1].chunks.set_chunk_size(8); }).has_value()); // empty file, no chunks
}

BOOST_AUTO_TEST_CASE(checks_staged_paths) {
  expect_rejected(record_with([](auto& r) { r.pending[0].staged = "x.img"; }), k_record_name, "pending[0].staged",
                  "not under tx/");
  expect_rejected(record_with([](auto& r) { r.pending[0].staged = "tx/x.img"; }), k_record_name, "pending[0].staged");
  expect_rejected(record_with([](auto& r) { r.pending[0].staged = "tx/../../x"; }), k_record_name, "pending[0].staged",
                  "\"..\"");
  expect_rejected(journal_with([](auto& j) { j.entries[0].staged = "tx/" + k_repository_id + "/files/0"; }),
                  k_journal_name, "entries[0].staged", "not under tx/" + k_txid);
  expect_rejected(journal_with([](auto& j) { j.entries[1].staged = "PC-0002/other.img"; }), k_journal_name,
                  "entries[1].staged", "direct");
  expect_rejected(journal_with([](auto& j) {
                    j.entries[1].staged = j.entries[0].staged;
                    j.entries[1].direct = false;
                  }),
                  k_journal_name, "entries[1].staged", "repeats");
}

BOOST_AUTO_TEST_CASE(pending_files_lie_inside_a_committed_folder) {
  expect_rejected(record_with([](auto& r) {
                    r.folders.pop_back(); // the root folder contains everything
                    r.pending[0].path = "PC-0002/x.img";
                  }),
                  k_record_name, "pending[0].path", "inside none of the folders");
  BOOST_TEST(record_with([](auto& r) { r.pending[0].path = "PC-0002/x.img"; }).has_value());
}

BOOST_AUTO_TEST_CASE(checks_the_hex_twin_of_a_name) {
  FolderManifest manifest = sample_manifest();
  manifest.files[1].path = "PC-0001/Daily-System/caf\xe9";
  std::string text = write_folder_manifest(manifest);
  auto read = [](const std::string& t) { return read_folder_manifest(t, k_manifest_name); };
  BOOST_TEST(read(text).has_value());
  expect_rejected(read(replace(text, "caf\xef\xbf\xbd", "cafe")), k_manifest_name, "files[1].path",
                  "not the display form of path_hex");
  expect_rejected(read(replace(text, "636166e9", "636166E9")), k_manifest_name, "files[1].path_hex", "hex");
  expect_rejected(read(replace(text, "636166e9", "636166e")), k_manifest_name, "files[1].path_hex", "hex");
  // A twin for a name that is UTF-8 already would give one name two spellings.
  expect_rejected(read(replace(replace(text, "636166e9", "63616665"), "caf\xef\xbf\xbd", "cafe")), k_manifest_name,
                  "files[1].path_hex", "valid UTF-8");
  expect_rejected(read(replace(text, R"("path_hex":")", R"("path_hex":1,"x":")")), k_manifest_name, "files[1].path_hex",
                  "expected a string");
}

BOOST_AUTO_TEST_SUITE_END()
