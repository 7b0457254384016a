// S3 calls over CurlMulti. Every request is signed with its payload's SHA-256 (S3 checks the
// body against it) and, for bodies, Content-MD5 (checked by S3 and by most S3-compatible stores;
// we compare the returned ETag with it where the ETag is an MD5). Calls that can answer 200 and
// still fail (CompleteMultipartUpload, CopyObject, UploadPartCopy) always have their body read.

#include "net/s3_client.hpp"

#include <charconv>
#include <chrono>

#include <asio/this_coro.hpp>
#include <curl/curl.h>
#include <fmt/format.h>

#include "net/curl_library.hpp"

namespace offsite::net {
namespace {

std::string quote_xml(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

std::string unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

bool is_md5_hex(std::string_view etag) {
  return etag.size() == 32 && etag.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool ok_status(long status) { return status >= 200 && status < 300; }

} // namespace

Payload digest_payload(std::span<const std::byte> bytes) {
  Payload payload;
  payload.bytes = bytes;
  payload.sha256_hex = sha256_hex(bytes);
  payload.md5_raw = md5_raw(bytes);
  return payload;
}

Result<S3Endpoint> S3Endpoint::parse(std::string_view endpoint, std::string region) {
  S3Endpoint out;
  out.region = region.empty() ? "us-east-1" : std::move(region);
  if (endpoint.empty()) {
    out.host = fmt::format("s3.{}.amazonaws.com", out.region);
    return out;
  }
  auto scheme_end = endpoint.find("://");
  if (scheme_end == std::string_view::npos)
    return make_error(ErrorKind::config, fmt::format("endpoint \"{}\": expected http(s)://host[:port]", endpoint));
  out.scheme = std::string(endpoint.substr(0, scheme_end));
  if (out.scheme != "http" && out.scheme != "https")
    return make_error(ErrorKind::config, fmt::format("endpoint \"{}\": expected http:// or https://", endpoint));
  auto rest = endpoint.substr(scheme_end + 3);
  while (rest.ends_with('/'))
    rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos)
    return make_error(ErrorKind::config,
                      fmt::format("endpoint \"{}\": expected a scheme, a host and a port only", endpoint));
  // curl leaves a default port out of the Host header, and the signature must match it.
  if ((out.scheme == "https" && rest.ends_with(":443")) || (out.scheme == "http" && rest.ends_with(":80")))
    rest = rest.substr(0, rest.rfind(':'));
  out.host = std::string(rest);
  return out;
}

std::string S3Endpoint::describe() const {
  if (path_style) return fmt::format("{}://{}/{}", scheme, host, bucket);
  return fmt::format("s3://{}", bucket);
}

S3Client::S3Client(S3Endpoint endpoint, Credentials credentials)
    : m_endpoint(std::move(endpoint)), m_credentials(std::move(credentials)) {}

std::vector<std::pair<std::string, std::string>> S3Client::creation_headers() const {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!m_endpoint.storage_class.empty()) headers.emplace_back("x-amz-storage-class", m_endpoint.storage_class);
  if (!m_endpoint.server_side_encryption.empty())
    headers.emplace_back("x-amz-server-side-encryption", m_endpoint.server_side_encryption);
  return headers;
}

asio::awaitable<Result<HttpResponse>> S3Client::send(Call call, std::string where) {
  auto executor = co_await asio::this_coro::executor;
  auto http = CurlMulti::of(executor);

  std::string host = m_endpoint.path_style ? m_endpoint.host : m_endpoint.bucket + "." + m_endpoint.host;
  std::string path;
  if (m_endpoint.path_style)
    path = call.key.empty() ? "/" + m_endpoint.bucket : "/" + m_endpoint.bucket + "/" + call.key;
  else
    path = "/" + call.key;

  if (call.payload.sha256_hex.empty()) call.payload.sha256_hex = std::string(k_empty_sha256);
  if (!call.payload.md5_raw.empty()) call.headers.emplace_back("content-md5", base64(call.payload.md5_raw));
  SigningInput input;
  input.method = call.method;
  input.host = host;
  input.path = path;
  input.query = call.query;
  input.headers = call.headers;
  input.payload_sha256 = call.payload.sha256_hex;
  input.amz_date = amz_date(std::chrono::system_clock::now());
  input.region = m_endpoint.region;
  auto signed_request = sign_v4(input, m_credentials);

  HttpRequest request;
  request.method = call.method;
  request.url = fmt::format("{}://{}{}", m_endpoint.scheme, host, uri_encode(path, true));
  if (!call.query.empty()) request.url += "?" + canonical_query(call.query);
  request.headers = std::move(signed_request.headers);
  if (call.method == "PUT" || call.method == "POST")
    request.headers.push_back("Content-Type: application/octet-stream");
  request.body = call.payload.bytes;
  request.max_response_body = call.max_response;
  request.ca_file = m_endpoint.ca_file;
  auto response = co_await http->perform(std::move(request));
  if (!response) co_return Unexpected(response.error().with_context(fmt::format("{}: {}", where, call.action)));
  co_return response;
}

Error S3Client::failure(const HttpResponse& response, std::string_view action, std::string_view where) const {
  auto parsed = parse_error(response.body);
  std::string code = parsed ? parsed->code : "";
  std::string said = parsed && !parsed->message.empty() ? ": " + parsed->message : "";
  long status = response.status;
  ErrorKind kind = ErrorKind::permanent;
  if (status == 404)
    kind = ErrorKind::not_found;
  else if (status == 408 || status == 429 || status >= 500 || is_transient_code(code) || code == "BadDigest" ||
           code == "XAmzContentSHA256Mismatch" || code == "IncompleteBody")
    kind = ErrorKind::transient;
  std::string what =
      fmt::format("{}: {} failed: HTTP {}{}{}", where, action, status, code.empty() ? "" : " " + code, said);
  if (status == 403)
    what += fmt::format(" (access denied: check that the access key, its secret and the bucket's policy allow {} on "
                        "bucket \"{}\")",
                        action, m_endpoint.bucket);
  else if (status == 301 || code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect")
    what += fmt::format(" (is bucket \"{}\" in region {}? set `region` to the bucket's)", m_endpoint.bucket,
                        m_endpoint.region);
  return Error{kind, std::move(what)};
}

asio::awaitable<Result<ObjectInfo>> S3Client::head(std::string key, std::string where) {
  Call call{"HEAD", std::move(key), {}, {}, {}, 0, "HeadObject"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (!ok_status(response->status)) co_return Unexpected(failure(*response, "HeadObject", where));
  ObjectInfo info;
  auto length = response->header("content-length");
  if (length.empty() || std::from_chars(length.data(), length.data() + length.size(), info.size).ec != std::errc())
    co_return make_error(ErrorKind::transient, fmt::format("{}: HeadObject: no Content-Length in the answer", where));
  std::string modified(response->header("last-modified"));
  // The answer came through libcurl, so it is loaded.
  if (auto seconds = (*curl_library())->getdate(modified.c_str(), nullptr); seconds > 0)
    info.mtime_ns = static_cast<std::int64_t>(seconds) * 1'000'000'000;
  info.etag = unquote(response->header("etag"));
  co_return info;
}

asio::awaitable<Result<std::string>> S3Client::get(std::string key, std::uint64_t max_size, std::string where) {
  Call call{
      "GET",      std::move(key), {}, {}, {}, static_cast<std::size_t>(std::min<std::uint64_t>(max_size, SIZE_MAX)),
      "GetObject"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (!ok_status(response->status)) co_return Unexpected(failure(*response, "GetObject", where));
  co_return std::move(response->body);
}

asio::awaitable<Result<std::string>> S3Client::get_range(std::string key, std::uint64_t first, std::uint64_t last,
                                                         std::string where) {
  Call call{"GET",      std::move(key),
            {},         {{"range", fmt::format("bytes={}-{}", first, last)}},
            {},         static_cast<std::size_t>(last - first + 1),
            "GetObject"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (response->status == 416) co_return std::string();
  if (response->status == 200 && first == 0) co_return std::move(response->body); // a server ignoring Range
  if (response->status != 206) {
    if (ok_status(response->status))
      co_return make_error(ErrorKind::permanent,
                           fmt::format("{}: GetObject: HTTP {} to a range request", where, response->status));
    co_return Unexpected(failure(*response, "GetObject", where));
  }
  co_return std::move(response->body);
}

asio::awaitable<Result<void>> S3Client::put(std::string key, Payload payload, std::string where) {
  auto md5 = payload.md5_raw;
  Call call{"PUT", std::move(key), {}, creation_headers(), std::move(payload), 1u << 20, "PutObject"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (!ok_status(response->status)) co_return Unexpected(failure(*response, "PutObject", where));
  auto etag = unquote(response->header("etag"));
  if (!md5.empty() && is_md5_hex(etag) && etag != to_hex(md5))
    co_return make_error(ErrorKind::transient, fmt::format("{}: PutObject: the server's ETag {} is not the MD5 of the "
                                                           "bytes sent ({})",
                                                           where, etag, to_hex(md5)));
  co_return Result<void>{};
}

asio::awaitable<Result<void>> S3Client::remove(std::string key, std::string where) {
  Call call{"DELETE", std::move(key), {}, {}, {}, 1u << 20, "DeleteObject"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (!ok_status(response->status) && response->status != 404)
    co_return Unexpected(failure(*response, "DeleteObject", where));
  co_return Result<void>{};
}

asio::awaitable<Result<void>> S3Client::copy(std::string source_key, std::string key, std::string where) {
  auto headers = creation_headers();
  headers.emplace_back("x-amz-copy-source", uri_encode("/" + m_endpoint.bucket + "/" + source_key, true));
  Call call{"PUT", std::move(key), {}, std::move(headers), {}, 1u << 20, "CopyObject"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (!ok_status(response->status)) co_return Unexpected(failure(*response, "CopyObject", where));
  auto result = parse_result_etag(response->body, "CopyObjectResult");
  if (!result) co_return Unexpected(result.error().with_context(fmt::format("{}: CopyObject", where)));
  co_return Result<void>{};
}

asio::awaitable<Result<S3Client::Listing>> S3Client::list(std::string prefix, bool delimited, int max_keys,
                                                          std::string where) {
  Listing listing;
  std::string token;
  for (;;) {
    Call call{"GET",          "", {{"list-type", "2"}, {"prefix", prefix}, {"encoding-type", "url"}}, {}, {}, 16u << 20,
              "ListObjectsV2"};
    if (delimited) call.query.emplace_back("delimiter", "/");
    if (max_keys > 0) call.query.emplace_back("max-keys", std::to_string(max_keys));
    if (!token.empty()) call.query.emplace_back("continuation-token", token);
    auto response = co_await send(std::move(call), where);
    if (!response) co_return Unexpected(std::move(response).error());
    if (!ok_status(response->status)) co_return Unexpected(failure(*response, "ListObjectsV2", where));
    auto page = parse_list_objects(response->body);
    if (!page) co_return Unexpected(page.error().with_context(fmt::format("{}: ListObjectsV2", where)));
    for (auto& object : page->objects)
      listing.objects.push_back(std::move(object));
    for (auto& common : page->prefixes)
      listing.prefixes.push_back(std::move(common));
    if (!page->truncated || max_keys > 0) break;
    if (page->continuation == token)
      co_return make_error(ErrorKind::permanent, fmt::format("{}: ListObjectsV2: the server repeats a page", where));
    token = std::move(page->continuation);
  }
  co_return listing;
}

asio::awaitable<Result<std::string>> S3Client::create_upload(std::string key, std::string where) {
  Call call{"POST", std::move(key), {{"uploads", ""}}, creation_headers(), {}, 1u << 20, "CreateMultipartUpload"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (!ok_status(response->status)) co_return Unexpected(failure(*response, "CreateMultipartUpload", where));
  auto id = parse_initiate_upload(response->body);
  if (!id) co_return Unexpected(id.error().with_context(fmt::format("{}: CreateMultipartUpload", where)));
  co_return id;
}

asio::awaitable<Result<CompletedPart>> S3Client::upload_part(std::string key, std::string upload_id, int number,
                                                             Payload payload, std::string where) {
  auto md5 = payload.md5_raw;
  std::uint64_t size = payload.bytes.size();
  Call call{
      "PUT",       std::move(key),     {{"partNumber", std::to_string(number)}, {"uploadId", std::move(upload_id)}},
      {},          std::move(payload), 1u << 20,
      "UploadPart"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (!ok_status(response->status)) co_return Unexpected(failure(*response, "UploadPart", where));
  auto etag = unquote(response->header("etag"));
  if (etag.empty())
    co_return make_error(ErrorKind::transient, fmt::format("{}: UploadPart {}: no ETag in the answer", where, number));
  if (!md5.empty() && is_md5_hex(etag) && etag != to_hex(md5))
    co_return make_error(ErrorKind::transient, fmt::format("{}: UploadPart {}: the server's ETag {} is not the MD5 of "
                                                           "the bytes sent ({})",
                                                           where, number, etag, to_hex(md5)));
  co_return CompletedPart{number, size, std::move(etag)};
}

asio::awaitable<Result<CompletedPart>> S3Client::upload_part_copy(std::string source_key, std::string key,
                                                                  std::string upload_id, int number,
                                                                  std::uint64_t first, std::uint64_t last,
                                                                  std::string where) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"x-amz-copy-source", uri_encode("/" + m_endpoint.bucket + "/" + source_key, true)},
      {"x-amz-copy-source-range", fmt::format("bytes={}-{}", first, last)}};
  Call call{"PUT",
            std::move(key),
            {{"partNumber", std::to_string(number)}, {"uploadId", std::move(upload_id)}},
            std::move(headers),
            {},
            1u << 20,
            "UploadPartCopy"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (!ok_status(response->status)) co_return Unexpected(failure(*response, "UploadPartCopy", where));
  auto etag = parse_result_etag(response->body, "CopyPartResult");
  if (!etag) co_return Unexpected(etag.error().with_context(fmt::format("{}: UploadPartCopy {}", where, number)));
  co_return CompletedPart{number, last - first + 1, std::move(*etag)};
}

asio::awaitable<Result<void>> S3Client::complete_upload(std::string key, std::string upload_id,
                                                        std::vector<CompletedPart> parts, std::string where) {
  std::string body = "<CompleteMultipartUpload>";
  for (const auto& part : parts)
    body +=
        fmt::format("<Part><PartNumber>{}</PartNumber><ETag>\"{}\"</ETag></Part>", part.number, quote_xml(part.etag));
  body += "</CompleteMultipartUpload>";
  auto bytes = std::as_bytes(std::span(body.data(), body.size()));
  Call call{"POST",   std::move(key),           {{"uploadId", std::move(upload_id)}}, {}, digest_payload(bytes),
            1u << 20, "CompleteMultipartUpload"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (!ok_status(response->status)) co_return Unexpected(failure(*response, "CompleteMultipartUpload", where));
  // A 200 whose body is an <Error> failed (research/tech-notes.md §2.3).
  auto etag = parse_result_etag(response->body, "CompleteMultipartUploadResult");
  if (!etag) co_return Unexpected(etag.error().with_context(fmt::format("{}: CompleteMultipartUpload", where)));
  co_return Result<void>{};
}

asio::awaitable<Result<void>> S3Client::abort_upload(std::string key, std::string upload_id, std::string where) {
  Call call{"DELETE", std::move(key), {{"uploadId", std::move(upload_id)}}, {}, {}, 1u << 20, "AbortMultipartUpload"};
  auto response = co_await send(std::move(call), where);
  if (!response) co_return Unexpected(std::move(response).error());
  if (!ok_status(response->status) && response->status != 404)
    co_return Unexpected(failure(*response, "AbortMultipartUpload", where));
  co_return Result<void>{};
}

asio::awaitable<Result<std::vector<UploadedPart>>> S3Client::list_parts(std::string key, std::string upload_id,
                                                                        std::string where) {
  std::vector<UploadedPart> parts;
  int marker = 0;
  for (;;) {
    Call call{"GET", key, {{"uploadId", upload_id}}, {}, {}, 16u << 20, "ListParts"};
    if (marker > 0) call.query.emplace_back("part-number-marker", std::to_string(marker));
    auto response = co_await send(std::move(call), where);
    if (!response) co_return Unexpected(std::move(response).error());
    if (!ok_status(response->status)) co_return Unexpected(failure(*response, "ListParts", where));
    auto page = parse_list_parts(response->body);
    if (!page) co_return Unexpected(page.error().with_context(fmt::format("{}: ListParts", where)));
    for (auto& part : page->parts)
      parts.push_back(std::move(part));
    if (!page->truncated) break;
    if (page->next_marker <= marker)
      co_return make_error(ErrorKind::permanent, fmt::format("{}: ListParts: the server repeats a page", where));
    marker = page->next_marker;
  }
  co_return parts;
}

asio::awaitable<Result<std::vector<InProgressUpload>>> S3Client::list_uploads(std::string prefix, std::string where) {
  std::vector<InProgressUpload> uploads;
  std::string key_marker, id_marker;
  for (;;) {
    Call call{"GET", "", {{"uploads", ""}, {"prefix", prefix}}, {}, {}, 16u << 20, "ListMultipartUploads"};
    if (!key_marker.empty()) call.query.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) call.query.emplace_back("upload-id-marker", id_marker);
    auto response = co_await send(std::move(call), where);
    if (!response) co_return Unexpected(std::move(response).error());
    if (!ok_status(response->status)) co_return Unexpected(failure(*response, "ListMultipartUploads", where));
    auto page = parse_list_uploads(response->body);
    if (!page) co_return Unexpected(page.error().with_context(fmt::format("{}: ListMultipartUploads", where)));
    for (auto& upload : page->uploads)
      uploads.push_back(std::move(upload));
    if (!page->truncated) break;
    if (page->next_key_marker == key_marker && page->next_upload_id_marker == id_marker)
      co_return make_error(ErrorKind::permanent,
                           fmt::format("{}: ListMultipartUploads: the server repeats a page", where));
    key_marker = std::move(page->next_key_marker);
    id_marker = std::move(page->next_upload_id_marker);
  }
  co_return uploads;
}

} // namespace offsite::net
