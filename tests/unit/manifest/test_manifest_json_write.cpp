#include "manifest/manifest.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "manifest/utf8.hpp"
#include "samples.hpp"

using namespace offsite;
using namespace offsite::manifest;
using namespace offsite::manifest::test;

namespace {

// Names a local filesystem may hold that JSON cannot carry as they are, or must escape.
std::vector<std::string> awkward_names() {
  std::string high, low;
  for (int c = 0x80; c <= 0xff; ++c)
    high.push_back(static_cast<char>(c));
  for (int c = 0x01; c < 0x80; ++c)
    if (c != '/') low.push_back(static_cast<char>(c));
  return {
      "caf\xe9.img",          // Latin-1
      "caf\xc3\xa9.img",      // the same name in UTF-8
      high,                   // every byte 0x80-0xff
      low,                    // every ASCII byte but '/' and NUL
      "q\"uote\\back\\slash", // JSON's own escapes
      "tab\there\nnew\rline\x01\x1f\x7f",
      "\xf0\x9f\x98\x80 emoji \xe2\x9c\x93",
      "\xc0\xaf overlong",          // '/' spelt overlong: not a separator, not UTF-8
      "\xed\xa0\x80 surrogate",     // CESU/WTF-8 surrogate half
      "\xf4\x90\x80\x80 above-max", // above U+10FFFF
      "cut \xe2\x82",               // a truncated sequence
      "\xef\xbf\xbd real U+FFFD",   // valid, and looks like a replacement
      "back\\slash only",
  };
}

} // namespace

BOOST_AUTO_TEST_SUITE(manifest_json_write)

BOOST_AUTO_TEST_CASE(lease_is_written_exactly_as_documented) {
  BOOST_TEST(write_lease(sample_lease()) ==
             R"({"format":"offsite/1","repository_id":"0f8fad5b-d9cb-469f-a165-70867728950e",)"
             R"("host":"nas-01.example","process":"offsite sync Main","pid":4242,)"
             R"("taken_at":"2026-11-24T22:13:05Z","sequence":3})"
             "\n");
}

BOOST_AUTO_TEST_CASE(folder_manifest_omits_chunks_it_does_not_have) {
  auto text = write_folder_manifest(sample_manifest());
  BOOST_TEST(text.find(R"("xxh3_128":")" + hash_of("full").to_hex() + R"(","chunk_size":16,"chunks":[")") !=
             std::string::npos);
  BOOST_TEST(text.find(R"({"path":"PC-0001/Daily-System/inc 1.img","size":0,"mtime_ns":-5,"xxh3_128":")" +
                       hash_of("").to_hex() + R"("})") != std::string::npos);
  BOOST_TEST(text.back() == '\n');
  BOOST_TEST(text.find('\n') == text.size() - 1);
}

BOOST_AUTO_TEST_CASE(commit_record_ends_with_its_checksum) {
  auto text = write_commit_record(sample_record());
  auto at = text.rfind(",\"checksum\":\"");
  BOOST_REQUIRE(at != std::string::npos);
  BOOST_TEST(at == text.size() - 48);
  BOOST_TEST(text.substr(at) == ",\"checksum\":\"" + xxh3_128(std::string_view(text).substr(0, at)).to_hex() + "\"}\n");
  BOOST_TEST(text.starts_with(R"({"format":"offsite/1","repository_id":")"));
}

BOOST_AUTO_TEST_CASE(writes_are_byte_deterministic) {
  BOOST_TEST(write_commit_record(sample_record()) == write_commit_record(sample_record()));
  BOOST_TEST(write_folder_manifest(sample_manifest()) == write_folder_manifest(sample_manifest()));
  BOOST_TEST(write_journal(sample_journal()) == write_journal(sample_journal()));
  BOOST_TEST(write_lease(sample_lease()) == write_lease(sample_lease()));
}

// A journal entry leaves out the members that hold their defaults (remote-format.md §7), and the
// long form, with every member written out, reads as the same journal.
BOOST_AUTO_TEST_CASE(journal_entries_leave_out_their_defaults) {
  Journal journal = sample_journal();
  journal.entries.push_back(
      JournalEntry{"PC-0003/a b.img", 9, 19, default_staged_path(k_txid, "PC-0003/a b.img"), false, ""});
  auto text = write_journal(journal);
  BOOST_TEST(text.find(R"({"path":"PC-0003/a b.img","size":9,"mtime_ns":19})") != std::string::npos, text);
  BOOST_TEST(text.find(R"({"path":"PC-0002/new.img","size":5,"mtime_ns":18,"direct":true})") != std::string::npos,
             text);
  BOOST_TEST(text.find(R"("staged":"tx/)" + k_txid + R"(/files/0","resume_token":"upload-id=abc"})") !=
                 std::string::npos,
             text);
  BOOST_TEST(default_staged_path(k_txid, "PC-0003/a b.img") == "tx/" + k_txid + "/files/PC-0003/a b.img");

  std::string long_form = text;
  long_form = replace(long_form, R"("mtime_ns":19})",
                      R"("mtime_ns":19,"staged":"tx/)" + k_txid +
                          R"(/files/PC-0003/a b.img","direct":false,"resume_token":""})");
  long_form = replace(long_form, R"("mtime_ns":18,"direct":true})",
                      R"("mtime_ns":18,"staged":"PC-0002/new.img","direct":true,"resume_token":""})");
  auto read = read_journal(long_form, "tx/j.json");
  BOOST_REQUIRE_MESSAGE(read, why(read));
  BOOST_TEST((*read == journal));
  BOOST_TEST(write_journal(*read) == text);
}

BOOST_AUTO_TEST_CASE(every_type_round_trips) {
  auto record = read_commit_record(write_commit_record(sample_record()), "commits/7.json");
  BOOST_REQUIRE_MESSAGE(record, why(record));
  BOOST_TEST((*record == sample_record()));
  auto manifest = read_folder_manifest(write_folder_manifest(sample_manifest()), "folders/a.json");
  BOOST_REQUIRE_MESSAGE(manifest, why(manifest));
  BOOST_TEST((*manifest == sample_manifest()));
  auto journal = read_journal(write_journal(sample_journal()), "tx/j.json");
  BOOST_REQUIRE_MESSAGE(journal, why(journal));
  BOOST_TEST((*journal == sample_journal()));
  auto lease = read_lease(write_lease(sample_lease()), "lock/l.json");
  BOOST_REQUIRE_MESSAGE(lease, why(lease));
  BOOST_TEST((*lease == sample_lease()));
}

BOOST_AUTO_TEST_CASE(empty_lists_and_extreme_numbers_round_trip) {
  CommitRecord record = sample_record();
  record.folders.clear();
  record.pending.clear();
  record.generation = k_max_count;
  record.parent = k_max_count - 1;
  auto read = read_commit_record(write_commit_record(record), "c");
  BOOST_REQUIRE_MESSAGE(read, why(read));
  BOOST_TEST((*read == record));

  FolderManifest manifest = sample_manifest();
  manifest.files[0].mtime_ns = INT64_MIN;
  manifest.files[1].mtime_ns = INT64_MAX;
  auto again = read_folder_manifest(write_folder_manifest(manifest), "m");
  BOOST_REQUIRE_MESSAGE(again, why(again));
  BOOST_TEST((*again == manifest));
}

BOOST_AUTO_TEST_CASE(any_name_round_trips_through_every_path_field) {
  for (const auto& name : awkward_names()) {
    BOOST_TEST_CONTEXT("name " << to_hex(name)) {
      FolderManifest manifest = sample_manifest();
      manifest.folder = "PC-0001/" + name;
      manifest.files[0].path = manifest.folder + "/" + name;
      manifest.files[1].path = manifest.folder + "/x" + name;
      auto text = write_folder_manifest(manifest);
      BOOST_TEST(is_valid_utf8(text));
      BOOST_TEST((text.find("\"path_hex\":\"") != std::string::npos) == !is_valid_utf8(name));
      auto read = read_folder_manifest(text, "m");
      BOOST_REQUIRE_MESSAGE(read, why(read));
      BOOST_TEST((*read == manifest));
      BOOST_TEST(write_folder_manifest(*read) == text);

      CommitRecord record = sample_record();
      record.folders[0].path = manifest.folder;
      record.folders[0].manifest = "folders/" + name;
      record.pending[0] = PendingEntry{manifest.files[0].path, "tx/" + k_txid + "/" + name};
      auto sealed = read_commit_record(write_commit_record(record), "c");
      BOOST_REQUIRE_MESSAGE(sealed, why(sealed));
      BOOST_TEST((*sealed == record));

      Journal journal = sample_journal();
      journal.entries[0].path = manifest.files[0].path;
      journal.entries[0].staged = "tx/" + k_txid + "/" + name;
      journal.entries[1].path = journal.entries[1].staged = name;
      auto journal_read = read_journal(write_journal(journal), "j");
      BOOST_REQUIRE_MESSAGE(journal_read, why(journal_read));
      BOOST_TEST((*journal_read == journal));
    }
  }
}

BOOST_AUTO_TEST_CASE(non_utf8_name_keeps_a_display_form) {
  FolderManifest manifest = sample_manifest();
  manifest.files.resize(1);
  manifest.files[0].path = "PC-0001/Daily-System/caf\xe9.img";
  auto text = write_folder_manifest(manifest);
  BOOST_TEST(text.find(R"("path":"PC-0001/Daily-System/caf)"
                       "\xef\xbf\xbd"
                       R"(.img","path_hex":"50432d303030312f4461696c792d53797374656d2f636166e92e696d67")") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(text_fields_escape_what_json_requires) {
  Lease lease = sample_lease();
  lease.process = "a\"b\\c\n\x01\x7f";
  auto text = write_lease(lease);
  BOOST_TEST(text.find(R"("process":"a\"b\\c\n\u0001)"
                       "\x7f\"") != std::string::npos);
  auto read = read_lease(text, "l");
  BOOST_REQUIRE_MESSAGE(read, why(read));
  BOOST_TEST(read->process == lease.process);
}

BOOST_AUTO_TEST_SUITE_END()
