// A deliberately small XML reader for S3 answers. S3 sends plain documents: a declaration, one
// root, elements with text, a default namespace attribute, entities. Anything beyond that (a
// DOCTYPE, processing instructions inside, unbalanced tags, trailing bytes, nesting deeper than
// any S3 answer) is rejected rather than guessed at, so a hostile or broken server can make a
// request fail but cannot make us misread a listing.

#include "net/s3_xml.hpp"

#include <cctype>
#include <charconv>
#include <chrono>

#include <fmt/format.h>

namespace offsite::net {
namespace {

Unexpected<Error> malformed(std::string_view why, std::size_t at) {
  return make_error(ErrorKind::permanent, fmt::format("malformed XML from the server at byte {}: {}", at, why));
}

bool is_name_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '-' || c == '.' || c == ':' || u >= 0x80;
}

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

class Reader {
public:
  explicit Reader(std::string_view text) : m_text(text) {}

  Result<XmlElement> document() {
    if (m_text.size() > k_max_xml_size) return malformed("document too large", 0);
    if (m_text.starts_with("\xEF\xBB\xBF")) m_at = 3;
    if (auto skipped = skip_misc(true); !skipped) return Unexpected(skipped.error());
    if (!peek("<")) return malformed("expected the root element", m_at);
    auto root = element(0);
    if (!root) return root;
    if (auto skipped = skip_misc(false); !skipped) return Unexpected(skipped.error());
    if (m_at != m_text.size()) return malformed("content after the root element", m_at);
    return root;
  }

private:
  bool peek(std::string_view what) const { return m_text.substr(m_at).starts_with(what); }

  void skip_space() {
    while (m_at < m_text.size() &&
           (m_text[m_at] == ' ' || m_text[m_at] == '\t' || m_text[m_at] == '\r' || m_text[m_at] == '\n'))
      ++m_at;
  }

  // White space, comments and (before the root only) the XML declaration.
  Result<void> skip_misc(bool allow_declaration) {
    for (;;) {
      skip_space();
      if (allow_declaration && peek("<?xml")) {
        auto end = m_text.find("?>", m_at);
        if (end == std::string_view::npos) return malformed("unterminated declaration", m_at);
        m_at = end + 2;
        allow_declaration = false;
        continue;
      }
      if (peek("<!--")) {
        auto end = m_text.find("-->", m_at + 4);
        if (end == std::string_view::npos) return malformed("unterminated comment", m_at);
        m_at = end + 3;
        continue;
      }
      if (peek("<!") || peek("<?")) return malformed("DOCTYPE and processing instructions are not accepted", m_at);
      return {};
    }
  }

  Result<std::string> name() {
    auto start = m_at;
    while (m_at < m_text.size() && is_name_char(m_text[m_at]))
      ++m_at;
    if (m_at == start) return malformed("expected a name", m_at);
    return std::string(m_text.substr(start, m_at - start));
  }

  // Character data up to the next '<', with references decoded, appended to `out`.
  Result<void> text(std::string& out, char stop) {
    while (m_at < m_text.size() && m_text[m_at] != stop) {
      char c = m_text[m_at];
      if (c == '<') return malformed("'<' inside an attribute", m_at);
      if (c != '&') {
        out += c;
        ++m_at;
        continue;
      }
      auto end = m_text.find(';', m_at);
      if (end == std::string_view::npos || end - m_at > 12) return malformed("bad entity", m_at);
      auto entity = m_text.substr(m_at + 1, end - m_at - 1);
      if (entity == "amp")
        out += '&';
      else if (entity == "lt")
        out += '<';
      else if (entity == "gt")
        out += '>';
      else if (entity == "quot")
        out += '"';
      else if (entity == "apos")
        out += '\'';
      else if (entity.starts_with('#')) {
        std::uint32_t code = 0;
        auto digits = entity.substr(1);
        int base = 10;
        if (digits.starts_with('x')) {
          digits.remove_prefix(1);
          base = 16;
        }
        auto [end_ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), code, base);
        if (digits.empty() || ec != std::errc() || end_ptr != digits.data() + digits.size() || code == 0 ||
            code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
          return malformed("bad character reference", m_at);
        append_utf8(out, code);
      } else {
        return malformed("unknown entity", m_at);
      }
      m_at = end + 1;
    }
    return {};
  }

  Result<void> attributes() {
    for (;;) {
      skip_space();
      if (m_at >= m_text.size()) return malformed("unterminated tag", m_at);
      if (peek(">") || peek("/>")) return {};
      auto attribute = name();
      if (!attribute) return Unexpected(attribute.error());
      skip_space();
      if (!peek("=")) return malformed("expected '=' after an attribute name", m_at);
      ++m_at;
      skip_space();
      if (m_at >= m_text.size() || (m_text[m_at] != '"' && m_text[m_at] != '\''))
        return malformed("expected a quoted attribute value", m_at);
      char quote = m_text[m_at++];
      std::string ignored;
      if (auto value = text(ignored, quote); !value) return value;
      if (m_at >= m_text.size()) return malformed("unterminated attribute value", m_at);
      ++m_at;
    }
  }

  Result<XmlElement> element(int depth) {
    if (depth >= k_max_xml_depth) return malformed("nested too deeply", m_at);
    ++m_at; // '<'
    XmlElement out;
    auto tag = name();
    if (!tag) return Unexpected(tag.error());
    out.name = std::move(*tag);
    if (auto attrs = attributes(); !attrs) return Unexpected(attrs.error());
    if (peek("/>")) {
      m_at += 2;
      return out;
    }
    ++m_at; // '>'
    for (;;) {
      if (m_at >= m_text.size()) return malformed(fmt::format("<{}> is not closed", out.name), m_at);
      if (peek("</")) {
        m_at += 2;
        auto closing = name();
        if (!closing) return Unexpected(closing.error());
        if (*closing != out.name) return malformed(fmt::format("</{}> closes <{}>", *closing, out.name), m_at);
        skip_space();
        if (!peek(">")) return malformed("expected '>'", m_at);
        ++m_at;
        return out;
      }
      if (peek("<![CDATA[")) {
        auto end = m_text.find("]]>", m_at);
        if (end == std::string_view::npos) return malformed("unterminated CDATA", m_at);
        out.text.append(m_text.substr(m_at + 9, end - m_at - 9));
        m_at = end + 3;
        continue;
      }
      if (peek("<!--")) {
        if (auto skipped = skip_misc(false); !skipped) return Unexpected(skipped.error());
        continue;
      }
      if (peek("<!") || peek("<?")) return malformed("unexpected markup", m_at);
      if (peek("<")) {
        auto child = element(depth + 1);
        if (!child) return child;
        out.children.push_back(std::move(*child));
        continue;
      }
      if (auto read = text(out.text, '<'); !read) return Unexpected(read.error());
    }
  }

  std::string_view m_text;
  std::size_t m_at = 0;
};

Result<XmlElement> root_named(std::string_view body, std::string_view root) {
  auto document = parse_xml(body);
  if (!document) return document;
  if (document->name == "Error") {
    auto error = parse_error(body);
    return make_error(
        error && is_transient_code(error->code) ? ErrorKind::transient : ErrorKind::permanent,
        fmt::format("the server answered {}: {}", error ? error->code : "Error", error ? error->message : ""));
  }
  if (document->name != root)
    return make_error(
        ErrorKind::permanent,
        fmt::format("unexpected answer from the server: <{}> where <{}> was expected", document->name, root));
  return document;
}

Result<std::uint64_t> number(const XmlElement& parent, std::string_view child) {
  auto text = parent.child_text(child);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return make_error(ErrorKind::permanent,
                      fmt::format("malformed XML from the server: <{}> is not a number: \"{}\"", child, text));
  return value;
}

Result<bool> flag(const XmlElement& parent, std::string_view child) {
  auto text = parent.child_text(child);
  if (text.empty() || text == "false") return false;
  if (text == "true") return true;
  return make_error(ErrorKind::permanent, fmt::format("malformed XML from the server: <{}> is \"{}\"", child, text));
}

std::string unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Keys under encoding-type=url come percent-encoded ('+' is a space there).
Result<std::string> url_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size())
        return make_error(ErrorKind::permanent, "malformed XML from the server: a truncated %-escape in a key");
      int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
      if (high < 0 || low < 0)
        return make_error(ErrorKind::permanent, "malformed XML from the server: a bad %-escape in a key");
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

} // namespace

const XmlElement* XmlElement::child(std::string_view child_name) const {
  for (const auto& element : children)
    if (element.name == child_name) return &element;
  return nullptr;
}

std::string_view XmlElement::child_text(std::string_view child_name) const {
  const auto* found = child(child_name);
  return found ? std::string_view(found->text) : std::string_view();
}

Result<XmlElement> parse_xml(std::string_view document) { return Reader(document).document(); }

bool is_transient_code(std::string_view code) {
  return code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" || code == "RequestTimeout" ||
         code == "RequestTimeTooSkewed" || code == "OperationAborted" || code == "Throttling";
}

std::optional<S3Error> parse_error(std::string_view body) {
  auto document = parse_xml(body);
  if (!document || document->name != "Error") return std::nullopt;
  return S3Error{std::string(document->child_text("Code")), std::string(document->child_text("Message"))};
}

Result<ObjectPage> parse_list_objects(std::string_view body) {
  auto root = root_named(body, "ListBucketResult");
  if (!root) return Unexpected(std::move(root).error());
  ObjectPage page;
  bool encoded = root->child_text("EncodingType") == "url";
  auto decode = [&](std::string_view text) -> Result<std::string> {
    if (encoded) return url_decode(text);
    return std::string(text);
  };
  for (const auto& element : root->children) {
    if (element.name == "Contents") {
      ListedObject object;
      auto key = decode(element.child_text("Key"));
      if (!key) return Unexpected(std::move(key).error());
      if (key->empty())
        return make_error(ErrorKind::permanent, "malformed XML from the server: an object without a key");
      object.key = std::move(*key);
      auto size = number(element, "Size");
      if (!size) return Unexpected(std::move(size).error());
      object.size = *size;
      object.mtime_ns = parse_iso8601(element.child_text("LastModified")).value_or(0);
      page.objects.push_back(std::move(object));
    } else if (element.name == "CommonPrefixes") {
      auto prefix = decode(element.child_text("Prefix"));
      if (!prefix) return Unexpected(std::move(prefix).error());
      page.prefixes.push_back(std::move(*prefix));
    }
  }
  auto truncated = flag(*root, "IsTruncated");
  if (!truncated) return Unexpected(std::move(truncated).error());
  page.truncated = *truncated;
  page.continuation = std::string(root->child_text("NextContinuationToken"));
  if (page.truncated && page.continuation.empty())
    return make_error(ErrorKind::permanent,
                      "malformed XML from the server: a truncated listing without a continuation token");
  return page;
}

Result<UploadPage> parse_list_uploads(std::string_view body) {
  auto root = root_named(body, "ListMultipartUploadsResult");
  if (!root) return Unexpected(std::move(root).error());
  UploadPage page;
  bool encoded = root->child_text("EncodingType") == "url";
  for (const auto& element : root->children) {
    if (element.name != "Upload") continue;
    InProgressUpload upload;
    auto key =
        encoded ? url_decode(element.child_text("Key")) : Result<std::string>(std::string(element.child_text("Key")));
    if (!key) return Unexpected(std::move(key).error());
    upload.key = std::move(*key);
    upload.upload_id = std::string(element.child_text("UploadId"));
    if (upload.key.empty() || upload.upload_id.empty())
      return make_error(ErrorKind::permanent, "malformed XML from the server: an upload without a key or an ID");
    page.uploads.push_back(std::move(upload));
  }
  auto truncated = flag(*root, "IsTruncated");
  if (!truncated) return Unexpected(std::move(truncated).error());
  page.truncated = *truncated;
  auto next_key = encoded ? url_decode(root->child_text("NextKeyMarker"))
                          : Result<std::string>(std::string(root->child_text("NextKeyMarker")));
  if (!next_key) return Unexpected(std::move(next_key).error());
  page.next_key_marker = std::move(*next_key);
  page.next_upload_id_marker = std::string(root->child_text("NextUploadIdMarker"));
  if (page.truncated && page.next_key_marker.empty())
    return make_error(ErrorKind::permanent,
                      "malformed XML from the server: a truncated upload listing without a marker");
  return page;
}

Result<PartPage> parse_list_parts(std::string_view body) {
  auto root = root_named(body, "ListPartsResult");
  if (!root) return Unexpected(std::move(root).error());
  PartPage page;
  for (const auto& element : root->children) {
    if (element.name != "Part") continue;
    UploadedPart part;
    auto part_number = number(element, "PartNumber");
    if (!part_number) return Unexpected(std::move(part_number).error());
    if (*part_number < 1 || *part_number > 10000)
      return make_error(ErrorKind::permanent,
                        fmt::format("malformed XML from the server: part number {}", *part_number));
    part.number = static_cast<int>(*part_number);
    auto size = number(element, "Size");
    if (!size) return Unexpected(std::move(size).error());
    part.size = *size;
    part.etag = unquote(element.child_text("ETag"));
    page.parts.push_back(std::move(part));
  }
  auto truncated = flag(*root, "IsTruncated");
  if (!truncated) return Unexpected(std::move(truncated).error());
  page.truncated = *truncated;
  if (page.truncated) {
    auto next = number(*root, "NextPartNumberMarker");
    if (!next) return Unexpected(std::move(next).error());
    if (*next < 1 || *next > 10000)
      return make_error(ErrorKind::permanent, "malformed XML from the server: a bad NextPartNumberMarker");
    page.next_marker = static_cast<int>(*next);
  }
  return page;
}

Result<std::string> parse_initiate_upload(std::string_view body) {
  auto root = root_named(body, "InitiateMultipartUploadResult");
  if (!root) return Unexpected(std::move(root).error());
  auto id = root->child_text("UploadId");
  if (id.empty()) return make_error(ErrorKind::permanent, "malformed XML from the server: no UploadId");
  return std::string(id);
}

Result<std::string> parse_result_etag(std::string_view body, std::string_view root_name) {
  auto root = root_named(body, root_name);
  if (!root) return Unexpected(std::move(root).error());
  auto etag = root->child_text("ETag");
  if (etag.empty())
    return make_error(ErrorKind::permanent,
                      fmt::format("malformed XML from the server: <{}> without an ETag", root_name));
  return unquote(etag);
}

std::optional<std::int64_t> parse_iso8601(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z')
    return std::nullopt;
  auto field = [&](std::size_t at, std::size_t length, int& out) {
    auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + length, out);
    return ec == std::errc() && end == text.data() + at + length;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!field(0, 4, year) || !field(5, 2, month) || !field(8, 2, day) || !field(11, 2, hour) || !field(14, 2, minute) ||
      !field(17, 2, second))
    return std::nullopt;
  std::int64_t nanos = 0;
  if (text.size() > 20) {
    if (text[19] != '.') return std::nullopt;
    auto fraction = text.substr(20, text.size() - 21);
    if (fraction.empty() || fraction.size() > 9) return std::nullopt;
    int scale = 1;
    for (std::size_t i = fraction.size(); i < 9; ++i)
      scale *= 10;
    int value = 0;
    if (!field(20, fraction.size(), value)) return std::nullopt;
    nanos = static_cast<std::int64_t>(value) * scale;
  } else if (text.size() != 20) {
    return std::nullopt;
  }
  std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                   std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  auto days = std::chrono::sys_days(date).time_since_epoch().count();
  return ((static_cast<std::int64_t>(days) * 24 + hour) * 60 + minute) * 60'000'000'000ll +
         static_cast<std::int64_t>(second) * 1'000'000'000ll + nanos;
}

} // namespace offsite::net
