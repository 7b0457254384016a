// SigV4, as https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html spells it:
//
//   CanonicalRequest = method \n URI \n query \n headers \n signed-header-names \n payload-hash
//   StringToSign     = "AWS4-HMAC-SHA256" \n amz-date \n date/region/s3/aws4_request \n hex(sha256(CanonicalRequest))
//   signing key      = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
//   signature        = hex(HMAC(signing key, StringToSign))
//
// S3 differs from other services in one place: the path is encoded once, '/' kept. Every header
// we send that S3 looks at is signed (x-amz-*, content-md5, range); content-length, content-type
// and expect are not, so curl may add or drop them without breaking the signature.

#include "net/s3_sign.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "net/crypto_library.hpp"

namespace offsite::net {
namespace {

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  crypto().hmac(crypto().sha256(), key.data(), static_cast<int>(key.size()),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string digest(const EVP_MD* md, const void* data, std::size_t size) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  crypto().digest(data, size, out, &length, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Leading and trailing spaces dropped, inner runs of spaces made one (SigV4's Trimall).
std::string trim_all(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

} // namespace

std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = crypto().encode_base64(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string sha256_hex(std::span<const std::byte> bytes) {
  return to_hex(digest(crypto().sha256(), bytes.data(), bytes.size()));
}

std::string sha256_hex(std::string_view text) { return to_hex(digest(crypto().sha256(), text.data(), text.size())); }

std::string md5_raw(std::span<const std::byte> bytes) { return digest(crypto().md5(), bytes.data(), bytes.size()); }

std::string uri_encode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string canonical_query(std::vector<std::pair<std::string, std::string>> query) {
  for (auto& [name, value] : query) {
    name = uri_encode(name, false);
    value = uri_encode(value, false);
  }
  std::sort(query.begin(), query.end());
  std::string out;
  for (const auto& [name, value] : query) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[17];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

SignedRequest sign_v4(const SigningInput& input, const Credentials& credentials) {
  // Sorted by lower-case name; the values of repeated names would be joined with ',' (we send none).
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : input.headers)
    headers[lower(name)] = trim_all(value);
  headers["host"] = input.host;
  headers["x-amz-date"] = input.amz_date;
  headers["x-amz-content-sha256"] = input.payload_sha256;
  if (!credentials.session_token.empty()) headers["x-amz-security-token"] = credentials.session_token;

  std::string canonical_headers, signed_names;
  for (const auto& [name, value] : headers) {
    canonical_headers += fmt::format("{}:{}\n", name, value);
    if (!signed_names.empty()) signed_names += ';';
    signed_names += name;
  }
  SignedRequest out;
  out.canonical_request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", input.method, uri_encode(input.path, true), canonical_query(input.query),
                  canonical_headers, signed_names, input.payload_sha256);
  std::string date = input.amz_date.substr(0, 8);
  std::string scope = fmt::format("{}/{}/{}/aws4_request", date, input.region, input.service);
  out.string_to_sign =
      fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", input.amz_date, scope, sha256_hex(out.canonical_request));
  std::string key = hmac("AWS4" + credentials.secret_access_key, date);
  key = hmac(key, input.region);
  key = hmac(key, input.service);
  key = hmac(key, "aws4_request");
  out.signature = to_hex(hmac(key, out.string_to_sign));

  for (const auto& [name, value] : headers)
    if (name != "host") out.headers.push_back(fmt::format("{}: {}", name, value));
  out.headers.push_back(fmt::format("Authorization: AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                                    credentials.access_key_id, scope, signed_names, out.signature));
  return out;
}

} // namespace offsite::net
