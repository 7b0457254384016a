// S3's XML answers come from the network: a broken or hostile server must not crash offsite or
// make it misread a listing. Invariants: every reader returns a value or an error with a message;
// accepted listings keep their promises (keys non-empty, part numbers 1..10,000, a truncated page
// carries its continuation); the XML reader's output never holds more text than its input.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/s3_xml.hpp"

namespace {

template <class R> void check_error(const R& result) {
  if (!result && result.error().message.empty()) std::abort();
}

std::size_t text_size(const offsite::net::XmlElement& element) {
  std::size_t size = element.name.size() + element.text.size();
  for (const auto& child : element.children)
    size += text_size(child);
  return size;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace offsite::net;
  std::string_view body(reinterpret_cast<const char*>(data), size);

  if (auto document = parse_xml(body); document) {
    if (text_size(*document) > size * 4) std::abort(); // a character reference is at most 4 bytes of UTF-8
  }
  auto objects = parse_list_objects(body);
  check_error(objects);
  if (objects) {
    for (const auto& object : objects->objects)
      if (object.key.empty()) std::abort();
    if (objects->truncated && objects->continuation.empty()) std::abort();
  }
  auto uploads = parse_list_uploads(body);
  check_error(uploads);
  if (uploads) {
    for (const auto& upload : uploads->uploads)
      if (upload.key.empty() || upload.upload_id.empty()) std::abort();
  }
  auto parts = parse_list_parts(body);
  check_error(parts);
  if (parts) {
    for (const auto& part : parts->parts)
      if (part.number < 1 || part.number > 10000) std::abort();
  }
  check_error(parse_initiate_upload(body));
  auto completed = parse_result_etag(body, "CompleteMultipartUploadResult");
  check_error(completed);
  if (completed && completed->empty()) std::abort();
  // An <Error> document is never taken for a result, whatever the 200 said.
  if (auto error = parse_error(body); error && completed) std::abort();
  return 0;
}
