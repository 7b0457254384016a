#pragma once
// AWS Signature Version 4 for S3, on libcrypto. curl 7.88's CURLOPT_AWS_SIGV4 mis-signs valueless
// query parameters (`?uploads`), unencoded paths and "Expect:" (research/tech-notes.md §2.1), so
// requests are signed here; tests/unit/net/test_s3_sign.cpp checks AWS's published examples.

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/hex.hpp"

namespace offsite::net {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key; // never logged, never in a message
  std::string session_token;     // "" unless temporary credentials
};

inline constexpr std::string_view k_unsigned_payload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view k_empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SigningInput {
  std::string method;
  std::string host;                                       // exactly as sent, with ":port" if not the default
  std::string path;                                       // decoded, starting with '/'
  std::vector<std::pair<std::string, std::string>> query; // decoded; a valueless parameter has ""
  // Headers to sign besides host, x-amz-date, x-amz-content-sha256 and x-amz-security-token
  // (content-md5, range, x-amz-storage-class, x-amz-copy-source, ...). Names in any case.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256; // lower-case hex, or k_unsigned_payload
  std::string amz_date;       // "20130524T000000Z"
  std::string region;
  std::string service = "s3";
};

struct SignedRequest {
  // Every header to send, "name: value" (host excepted: curl sends it from the URL), the
  // Authorization header included.
  std::vector<std::string> headers;
  std::string canonical_request; // for tests and debugging; holds no secret
  std::string string_to_sign;
  std::string signature;
};

SignedRequest sign_v4(const SigningInput& input, const Credentials& credentials);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept, everything else %XX
// (upper case); '/' kept when `keep_slash` (paths), encoded otherwise (query names and values).
std::string uri_encode(std::string_view text, bool keep_slash);
// The canonical query string: names and values encoded, sorted, "name=" for a valueless one. The
// same string is used in the URL, so what is signed is what is sent.
std::string canonical_query(std::vector<std::pair<std::string, std::string>> query);
// "20130524T000000Z" for `when` (UTC).
std::string amz_date(std::chrono::system_clock::time_point when);

std::string sha256_hex(std::span<const std::byte> bytes);
std::string sha256_hex(std::string_view text);
// Raw digests, for Content-MD5 and checks of ETags.
std::string md5_raw(std::span<const std::byte> bytes);
using offsite::to_hex; // util/hex.hpp
std::string base64(std::string_view raw);

} // namespace offsite::net
