// The commit record's self-checksum: a torn, damaged or edited record is never taken for valid.

#include "manifest/manifest.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

#include "samples.hpp"

using namespace offsite;
using namespace offsite::manifest;
using namespace offsite::manifest::test;

namespace {

constexpr std::string_view k_name = "commits/7.json";

// Small on purpose: every prefix and every bit of it is tried.
CommitRecord small_record() {
  CommitRecord record = sample_record();
  record.folders.pop_back();
  return record;
}

} // namespace

BOOST_AUTO_TEST_SUITE(manifest_checksum)

BOOST_AUTO_TEST_CASE(the_rule_restated_independently_accepts_the_writer_output) {
  std::string text = write_commit_record(small_record());
  BOOST_TEST(seal(body_of(text)) == text);
}

BOOST_AUTO_TEST_CASE(the_example_in_docs_remote_format_verifies) {
  // Copied from docs/remote-format.md §5: keep the two identical.
  const std::string example =
      R"({"format":"offsite/1","repository_id":"0f8fad5b-d9cb-469f-a165-70867728950e","generation":42,"parent":41,"txid":"7c9e6679-7425-40de-944b-e07fc1f90ae7","committed_at":"2026-11-24T22:13:05Z","folders":[{"path":"PC-0001/Daily-System","generation":42,"manifest":"folders/7c9e6679-7425-40de-944b-e07fc1f90ae7/0.json","manifest_size":446,"manifest_xxh3_128":"0d62baba26cc541be9e742886b757760","files":2,"bytes":128}],"pending":[{"path":"PC-0001/Daily-System/full-0001.img","staged":"tx/7c9e6679-7425-40de-944b-e07fc1f90ae7/data/0"}],"checksum":"cff7262682630e746ddeb6186d02b4e0"})"
      "\n";
  auto record = read_commit_record(example, k_name);
  BOOST_REQUIRE_MESSAGE(record, why(record));
  BOOST_TEST(record->generation == 42u);
  BOOST_TEST(xxh3_128(std::string_view(example).substr(0, example.size() - 48)).to_hex() ==
             "cff7262682630e746ddeb6186d02b4e0");
  BOOST_TEST(write_commit_record(*record) == example);
}

BOOST_AUTO_TEST_CASE(every_torn_prefix_is_rejected) {
  std::string text = write_commit_record(small_record());
  for (std::size_t length = 0; length < text.size(); ++length) {
    BOOST_TEST_CONTEXT("prefix of " << length << " bytes") {
      auto read = read_commit_record(std::string_view(text).substr(0, length), k_name);
      expect_rejected(read, k_name, "checksum");
    }
  }
  BOOST_TEST(read_commit_record(text, k_name).has_value());
}

BOOST_AUTO_TEST_CASE(every_flipped_bit_is_rejected) {
  std::string text = write_commit_record(small_record());
  for (std::size_t at = 0; at < text.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = text;
      damaged[at] = static_cast<char>(damaged[at] ^ (1 << bit));
      auto read = read_commit_record(damaged, k_name);
      BOOST_TEST_INFO("byte " << at << " bit " << bit);
      BOOST_TEST(!read.has_value());
      if (!read) BOOST_TEST(read.error().message.starts_with(std::string(k_name) + ": "));
    }
  }
}

BOOST_AUTO_TEST_CASE(an_edited_field_is_detected_unless_resealed) {
  std::string text = write_commit_record(small_record());
  std::string edited = replace(text, R"("generation":7)", R"("generation":8)");
  expect_rejected(read_commit_record(edited, k_name), k_name, "checksum", "damaged");
  // The same edit with a checksum recomputed by the documented rule is a valid record.
  auto resealed = read_commit_record(seal(body_of(edited)), k_name);
  BOOST_REQUIRE_MESSAGE(resealed, why(resealed));
  BOOST_TEST(resealed->generation == 8u);
}

BOOST_AUTO_TEST_CASE(the_tail_is_exact) {
  std::string text = write_commit_record(small_record());
  expect_rejected(read_commit_record(text + "\n", k_name), k_name, "checksum");
  expect_rejected(read_commit_record(text.substr(0, text.size() - 1), k_name), k_name, "checksum");
  expect_rejected(read_commit_record(text.substr(0, text.size() - 1) + "\r\n", k_name), k_name, "checksum");
  expect_rejected(read_commit_record(replace(text, R"(,"checksum":")", R"(, "checksum":")"), k_name), k_name,
                  "checksum");
  std::string body = body_of(text);
  std::string upper = xxh3_128(body).to_hex();
  for (char& c : upper)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  expect_rejected(read_commit_record(body + ",\"checksum\":\"" + upper + "\"}\n", k_name), k_name, "checksum");
}

BOOST_AUTO_TEST_CASE(a_checksum_member_must_be_the_last_and_only_one) {
  std::string body = body_of(write_commit_record(small_record()));
  // A second "checksum" earlier in the record: the tail verifies, the duplicate does not.
  std::string twice = replace(body, R"("parent":6,)", R"("parent":6,"checksum":"00000000000000000000000000000000",)");
  expect_rejected(read_commit_record(seal(twice), k_name), k_name, "checksum", "appears twice");
  // The sealed tail inside a nested object is not the record's last member: not valid JSON.
  expect_rejected(read_commit_record(seal(body + ",\"x\":{\"y\":1") + "}", k_name), k_name, "checksum");
  expect_rejected(read_commit_record(seal("[" + body), k_name), k_name, "", "not valid JSON");
}

BOOST_AUTO_TEST_CASE(folder_manifests_are_checked_by_size_and_hash_in_the_record) {
  std::string manifest = write_folder_manifest(sample_manifest());
  BOOST_TEST((manifest_hash(manifest) == xxh3_128(manifest)));
  std::string other = replace(manifest, "inc 1", "inc 2");
  BOOST_TEST((manifest_hash(other) != manifest_hash(manifest)));
}

BOOST_AUTO_TEST_SUITE_END()
