#pragma once
// The S3 API calls offsite makes, in terms of bucket keys: URLs (path or virtual-hosted style),
// SigV4 signing, the HTTP status and <Error> body turned into an Error whose kind drives retries
// (503 SlowDown and 5xx: transient; 403: permanent, naming the action; 404: not_found), and the
// XML answers read strictly. It knows nothing of offsite's paths (target/s3.cpp maps them).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <asio/awaitable.hpp>

#include "net/curl_multi.hpp"
#include "net/s3_sign.hpp"
#include "net/s3_xml.hpp"

namespace offsite::net {

struct S3Endpoint {
  std::string scheme = "https"; // "https" or "http"
  std::string host;             // "s3.eu-west-1.amazonaws.com" or "127.0.0.1:9000" (port only if not default)
  bool path_style = false;
  std::string bucket;
  std::string region = "us-east-1";
  std::filesystem::path ca_file; // trusted besides the system CAs
  std::string storage_class;     // sent on object creation when set
  std::string server_side_encryption;

  // From "https://host[:port]" (custom endpoints) or, when empty, AWS's endpoint for `region`.
  static Result<S3Endpoint> parse(std::string_view endpoint, std::string region);
  // For people: "https://127.0.0.1:9000/bucket" or "s3://bucket" on AWS.
  std::string describe() const;
};

struct ObjectInfo {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::string etag; // without quotes
};

struct CompletedPart {
  int number = 0;
  std::uint64_t size = 0;
  std::string etag;
};

// A request body with its digests, computed once (on the pool for large bodies).
struct Payload {
  std::span<const std::byte> bytes;
  std::string sha256_hex; // k_empty_sha256 for no body
  std::string md5_raw;    // "" when not computed
};
Payload digest_payload(std::span<const std::byte> bytes);

class S3Client {
public:
  S3Client(S3Endpoint endpoint, Credentials credentials);

  const S3Endpoint& endpoint() const { return m_endpoint; }
  // Errors name `where` (the caller's spelling of the object) and the S3 action.

  asio::awaitable<Result<ObjectInfo>> head(std::string key, std::string where);
  // The whole object if it holds at most `max_size` bytes (ErrorKind::permanent otherwise).
  asio::awaitable<Result<std::string>> get(std::string key, std::uint64_t max_size, std::string where);
  // Bytes [first, last] of the object.
  asio::awaitable<Result<std::string>> get_range(std::string key, std::uint64_t first, std::uint64_t last,
                                                 std::string where);
  // PutObject; the ETag is checked against the MD5 where the server returns an MD5 ETag.
  asio::awaitable<Result<void>> put(std::string key, Payload payload, std::string where);
  // DeleteObject: success whether or not the key existed (S3 does not say).
  asio::awaitable<Result<void>> remove(std::string key, std::string where);
  // CopyObject (sources up to 5 GiB), replacing `key`.
  asio::awaitable<Result<void>> copy(std::string source_key, std::string key, std::string where);

  struct Listing {
    std::vector<ListedObject> objects;
    std::vector<std::string> prefixes;
  };
  // ListObjectsV2 under `prefix`, every page (or the first `max_keys` entries when > 0).
  asio::awaitable<Result<Listing>> list(std::string prefix, bool delimited, int max_keys, std::string where);

  asio::awaitable<Result<std::string>> create_upload(std::string key, std::string where);
  asio::awaitable<Result<CompletedPart>> upload_part(std::string key, std::string upload_id, int number,
                                                     Payload payload, std::string where);
  // UploadPartCopy of source bytes [first, last].
  asio::awaitable<Result<CompletedPart>> upload_part_copy(std::string source_key, std::string key,
                                                          std::string upload_id, int number, std::uint64_t first,
                                                          std::uint64_t last, std::string where);
  asio::awaitable<Result<void>> complete_upload(std::string key, std::string upload_id,
                                                std::vector<CompletedPart> parts, std::string where);
  // AbortMultipartUpload; an upload that is already gone is success.
  asio::awaitable<Result<void>> abort_upload(std::string key, std::string upload_id, std::string where);
  // ListParts, every page. ErrorKind::not_found if the upload is gone (completed or aborted).
  asio::awaitable<Result<std::vector<UploadedPart>>> list_parts(std::string key, std::string upload_id,
                                                                std::string where);
  // ListMultipartUploads under `prefix`, every page, oldest first per key.
  asio::awaitable<Result<std::vector<InProgressUpload>>> list_uploads(std::string prefix, std::string where);

private:
  struct Call {
    std::string method = "GET";
    std::string key;
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::pair<std::string, std::string>> headers; // signed
    Payload payload;
    std::size_t max_response = 1u << 20;
    std::string action; // "PutObject": named in errors
  };
  asio::awaitable<Result<HttpResponse>> send(Call call, std::string where);
  // The Error for a non-2xx answer.
  Error failure(const HttpResponse& response, std::string_view action, std::string_view where) const;
  std::vector<std::pair<std::string, std::string>> creation_headers() const;

  S3Endpoint m_endpoint;
  Credentials m_credentials;
};

} // namespace offsite::net
