#pragma once
// The S3 responses offsite reads, parsed strictly from untrusted bytes: a small XML reader
// (elements, text, the five entities and character references; no DTD, no external anything)
// and typed readers for each response. A malformed or unexpected body is an ErrorKind::permanent
// error saying what was wrong, never a crash (fuzz/fuzz_s3_xml.cpp). Messages carry no path: the
// caller adds the object's name.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace offsite::net {

struct XmlElement {
  std::string name;
  std::string text; // the element's own character data, entities decoded
  std::vector<XmlElement> children;

  const XmlElement* child(std::string_view child_name) const;
  std::string_view child_text(std::string_view child_name) const; // "" if absent
};

inline constexpr std::size_t k_max_xml_size = 64u << 20;
inline constexpr int k_max_xml_depth = 32;

// One root element, optionally after an XML declaration, comments and white space.
Result<XmlElement> parse_xml(std::string_view document);

struct S3Error {
  std::string code;    // "NoSuchKey", "SlowDown", "AccessDenied", ...
  std::string message; // the server's words
};

// The <Error> document of a failed request (or of a 200 that failed: CompleteMultipartUpload,
// CopyObject, UploadPartCopy). nullopt if `body` is not one.
std::optional<S3Error> parse_error(std::string_view body);

struct ListedObject {
  std::string key;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

struct ObjectPage {
  std::vector<ListedObject> objects;
  std::vector<std::string> prefixes; // CommonPrefixes, each ending with the delimiter
  bool truncated = false;
  std::string continuation; // NextContinuationToken
};
Result<ObjectPage> parse_list_objects(std::string_view body); // ListObjectsV2

struct InProgressUpload {
  std::string key;
  std::string upload_id;
};

struct UploadPage {
  std::vector<InProgressUpload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
Result<UploadPage> parse_list_uploads(std::string_view body); // ListMultipartUploads

struct UploadedPart {
  int number = 0;
  std::uint64_t size = 0;
  std::string etag; // without quotes
};

struct PartPage {
  std::vector<UploadedPart> parts;
  bool truncated = false;
  int next_marker = 0;
};
Result<PartPage> parse_list_parts(std::string_view body); // ListParts

Result<std::string> parse_initiate_upload(std::string_view body); // the UploadId
// CompleteMultipartUpload, CopyObject and UploadPartCopy answer 200 and may still have failed: an
// <Error> body becomes an error (transient for InternalError/SlowDown, else permanent); else the
// ETag (without quotes) of the result element `root` names.
Result<std::string> parse_result_etag(std::string_view body, std::string_view root);

// "2009-10-12T17:50:30.000Z" -> nanoseconds since the epoch; nullopt if not that shape.
std::optional<std::int64_t> parse_iso8601(std::string_view text);

// Whether an S3 error code is worth retrying (SlowDown, InternalError, ServiceUnavailable, ...).
bool is_transient_code(std::string_view code);

} // namespace offsite::net
