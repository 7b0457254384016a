#pragma once
// Amazon S3 and S3-compatible stores. Paths map to keys under `<prefix>/<folder>/`; directories
// are prefixes, made visible when empty by a zero-byte "<dir>/" marker (make_directory), as the
// AWS console and rclone do. What S3 gives the commit protocol, and what it does not:
//
//  - An object appears only when complete (PutObject, CompleteMultipartUpload): partial uploads
//    are never visible, new paths may be uploaded straight to their final key, and a PUT or copy
//    over an existing key replaces it atomically.
//  - No exclusive create: without conditional writes (If-None-Match, on AWS only since 2024 and
//    not on most compatible stores) two writers can both "create" a key, so exclusive_rename is
//    false and the engine reads its records back (research/tech-notes.md §2.7).
//  - No rename: rename_to_new is a server-side copy and a delete (multipart UploadPartCopy above
//    5 GiB), not atomic; the engine only renames staged files it can roll forward.
//
// Uploads (s3_upload.cpp) buffer nothing beyond what the engine hands over: each part is the
// engine's own chunk buffer, hashed once (the signed SHA-256; small bodies also Content-MD5) and
// sent from it, several parts of one file at once (Upload::write_at).
// An interrupted multipart upload is found again by its key (ListMultipartUploads) and continued
// from its last confirmed part (ListParts), in the same run or the next; remove(path) aborts the
// key's unfinished uploads, so the engine's roll-back leaves no parts behind.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <asio/thread_pool.hpp>

#include "net/s3_client.hpp"
#include "target/target.hpp"

namespace offsite::target {

struct S3Options {
  net::S3Endpoint endpoint;
  net::Credentials credentials;
  std::string prefix;                     // inside the bucket, no leading or trailing '/'
  std::string folder;                     // the repository's folder under the prefix
  std::uint64_t chunk_size = 16ull << 20; // the engine's chunk; parts are multiples of it
  int max_connections = 4;
  // Objects larger than this are copied part by part (UploadPartCopy) in pieces of copy_part_size.
  // S3 caps CopyObject at 5 GiB; tests lower both to exercise the multipart path.
  std::uint64_t single_copy_limit = 5ull << 30;
  std::uint64_t copy_part_size = 1ull << 30;
};

class S3Target final : public Target {
public:
  S3Target(S3Options options, asio::thread_pool& pool);

  Capabilities capabilities() const override;
  std::string describe() const override;
  asio::awaitable<Result<void>> connect() override;
  asio::awaitable<Result<RemoteEntry>> stat(std::string path) override;
  asio::awaitable<Result<std::vector<RemoteEntry>>> list(std::string dir) override;
  asio::awaitable<Result<void>> make_directory(std::string path) override;
  asio::awaitable<Result<std::unique_ptr<Upload>>> start_upload(std::string path, UploadOptions options) override;
  asio::awaitable<Result<std::uint64_t>> uploaded_size(std::string path, std::string resume_token) override;
  asio::awaitable<Result<std::string>> read_file(std::string path, std::uint64_t max_size) override;
  asio::awaitable<Result<void>> write_new_file(std::string path, FileBytes bytes) override;
  asio::awaitable<Result<std::unique_ptr<Download>>> open_download(std::string path, std::uint64_t offset) override;
  asio::awaitable<Result<void>> rename_to_new(std::string from, std::string to) override;
  asio::awaitable<Result<void>> remove(std::string path) override;
  asio::awaitable<Result<void>> remove_directory(std::string path) override;
  asio::awaitable<Result<void>> copy(std::string from, std::string to) override;
  asio::awaitable<Result<void>> make_durable() override;
  asio::awaitable<Result<std::optional<std::uint64_t>>> free_space() override;

  // The paths of unfinished multipart uploads under the root (ListMultipartUploads).
  asio::awaitable<Result<std::vector<std::string>>> unfinished_uploads() override;
  // Aborts them at `path` (AbortMultipartUpload); a finished object there stays. With none there,
  // checks that AbortMultipartUpload is allowed (on an upload ID that does not exist).
  asio::awaitable<Result<void>> discard_unfinished_uploads(std::string path) override;

  // The key of `path` ("" = the root).
  std::string key(std::string_view path) const;
  // How messages name `path`.
  std::string where(std::string_view path) const;
  net::S3Client& client() { return m_client; }
  asio::thread_pool& pool() { return m_pool; }
  std::uint64_t chunk_size() const { return m_options.chunk_size; }
  int max_connections() const { return m_options.max_connections; }

  // An upload found by uploaded_size(), kept so start_upload() continues it without listing again.
  struct Found {
    std::string upload_id;
    std::vector<net::CompletedPart> parts; // contiguous from part 1, as confirmed
  };

private:
  std::string dir_prefix(std::string_view path) const; // key + "/" ("" for a bucket-wide root)
  asio::awaitable<Result<bool>> is_directory(std::string path);
  asio::awaitable<Result<std::optional<Found>>> find_upload(std::string path, std::string token);
  asio::awaitable<Result<bool>> abort_uploads_of(std::string path);
  asio::awaitable<Result<void>> copy_object(std::string from, std::string to);

  S3Options m_options;
  asio::thread_pool& m_pool;
  net::S3Client m_client;
  std::string m_root; // prefix/folder, no trailing '/'
  std::map<std::string, Found> m_found;
  std::set<std::string> m_emptied; // implied directories whose files remove() took
};

// The largest multiple of `unit` at or below `size`.
inline std::uint64_t round_down(std::uint64_t size, std::uint64_t unit) { return unit ? size / unit * unit : size; }

// The part size for an object of `size` bytes from `start`, `first_part` parts already used: a
// multiple of `chunk` that keeps the part count within S3's 10,000.
std::uint64_t part_size_for(std::uint64_t chunk, std::uint64_t start, std::uint64_t size, int first_part);

} // namespace offsite::target
