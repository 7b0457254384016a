#pragma once
// Small valid values of every remote-format type, and helpers to edit their JSON, shared by the
// manifest tests.

#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>

#include "manifest/manifest.hpp"
#include "util/hash128.hpp"

namespace offsite::manifest::test {

inline const std::string k_repository_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
inline const std::string k_txid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

inline Hash128 hash_of(std::string_view text) { return xxh3_128(text); }

inline CommitRecord sample_record() {
  CommitRecord record;
  record.repository_id = k_repository_id;
  record.generation = 7;
  record.parent = 6;
  record.txid = k_txid;
  record.committed_at = "2026-11-24T22:13:05Z";
  record.folders.push_back(
      FolderRef{"PC-0001/Daily-System", 7, "folders/" + k_txid + "-0.json", 5120, hash_of("manifest 0"), 12, 123456});
  record.folders.push_back(FolderRef{"", 3, "folders/root.json", 90, hash_of("manifest 1"), 1, 10});
  record.pending.push_back(PendingEntry{"PC-0001/Daily-System/x.img", "tx/" + k_txid + "/files/0"});
  return record;
}

inline FolderManifest sample_manifest() {
  FolderManifest manifest;
  manifest.folder = "PC-0001/Daily-System";
  manifest.txid = k_txid;
  manifest.files.push_back(FileEntry{"PC-0001/Daily-System/full.img", 40, 1764022385123456789, hash_of("full"),
                                     ChunkHashes(16, {hash_of("c0"), hash_of("c1"), hash_of("c2")})});
  manifest.files.push_back(FileEntry{"PC-0001/Daily-System/inc 1.img", 0, -5, hash_of(""), {}});
  return manifest;
}

inline Journal sample_journal() {
  Journal journal;
  journal.repository_id = k_repository_id;
  journal.txid = k_txid;
  journal.created_at = "2026-11-24T22:00:00.5Z";
  journal.base_generation = 6;
  journal.entries.push_back(
      JournalEntry{"PC-0001/Daily-System/x.img", 1 << 20, 17, "tx/" + k_txid + "/files/0", false, "upload-id=abc"});
  journal.entries.push_back(JournalEntry{"PC-0002/new.img", 5, 18, "PC-0002/new.img", true, ""});
  return journal;
}

inline Lease sample_lease() {
  return Lease{k_repository_id, "nas-01.example", "offsite sync Main", 4242, "2026-11-24T22:13:05Z", 3};
}

// A commit record's body: its bytes without the checksum tail (48 bytes).
inline std::string body_of(const std::string& record) { return record.substr(0, record.size() - 48); }

// Seals `body` as a commit record the way docs/remote-format.md says, written here afresh.
inline std::string seal(const std::string& body) {
  return body + ",\"checksum\":\"" + xxh3_128(body).to_hex() + "\"}\n";
}

// `text` with the first `from` replaced by `to`; the test fails if `from` is absent.
inline std::string replace(std::string text, std::string_view from, std::string_view to) {
  auto at = text.find(from);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, "sample lacks " << from);
  return text.replace(at, from.size(), to);
}

// A record edited and sealed again, so only the edit is wrong.
inline std::string edited_record(std::string_view from, std::string_view to) {
  return seal(replace(body_of(write_commit_record(sample_record())), from, to));
}

// The error message of a failed result, "" for a value: for BOOST_REQUIRE_MESSAGE, which
// builds its message even when the check passes.
template <class T> std::string why(const Result<T>& result) { return result ? std::string() : result.error().message; }

// The error of a rejected read: it must name the remote file, the field and, if given, why.
template <class T>
void expect_rejected(const Result<T>& result, std::string_view remote_name, std::string_view field,
                     std::string_view why = {}) {
  BOOST_REQUIRE_MESSAGE(!result, "accepted, expected a complaint about " << field);
  const Error& error = result.error();
  BOOST_TEST((error.kind == ErrorKind::permanent));
  BOOST_TEST_INFO("message: " << error.message);
  BOOST_TEST(error.message.starts_with(std::string(remote_name) + ": "));
  BOOST_TEST_INFO("message: " << error.message);
  BOOST_TEST((field.empty() || error.message.find(": " + std::string(field) + ": ") != std::string::npos));
  BOOST_TEST_INFO("message: " << error.message);
  BOOST_TEST(error.message.find(why) != std::string::npos);
}

} // namespace offsite::manifest::test
