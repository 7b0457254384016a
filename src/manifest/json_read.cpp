// Strict readers for the remote format. Everything under `.offsite/` may be torn, edited or
// hostile, so each reader:
//   1. (commit records) checks the self-checksum on the raw bytes, before any parsing;
//   2. parses with simdjson's DOM API, which validates the whole document up front (UTF-8,
//      structure, nothing after the root) inside a bounded parser;
//   3. reads every known member with its exact type, rejecting duplicate keys, which the DOM
//      keeps, anywhere in the document's objects that offsite reads;
//   4. runs the check_* rules (check.cpp) on the result.
// Errors are sticky: the first one is kept and reported, later reads are cheap no-ops, so the
// field-by-field code below reads straight through. Strings are copied out of the parser, whose
// buffers die with it.

#include "manifest/manifest.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <simdjson.h>

#include "manifest/utf8.hpp"

namespace offsite::manifest {
namespace {

namespace dom = simdjson::dom;

// Manifests are MB-sized; this bounds what a hostile file can make the parser allocate.
constexpr std::size_t k_max_document = std::size_t{256} << 20;

class Context {
public:
  explicit Context(std::string_view remote_name) : m_remote_name(remote_name) {}

  void fail(std::string_view field, std::string_view why) {
    if (m_error) return;
    std::string message(m_remote_name);
    if (!field.empty()) message.append(": ").append(field);
    m_error = Error{ErrorKind::permanent, message.append(": ").append(why)};
  }
  bool failed() const { return m_error.has_value(); }
  Error error() const { return *m_error; }

  std::string text(dom::element value, std::string_view field) {
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) {
      fail(field, "expected a string");
      return {};
    }
    // simdjson validates the raw bytes; an escape such as "\udc00" can still spell a lone
    // surrogate, which is not UTF-8 either.
    if (!is_valid_utf8(text)) fail(field, "not valid UTF-8");
    return std::string(text);
  }
  Hash128 hash(dom::element value, std::string_view field) {
    std::string hex = text(value, field);
    bool lower =
        std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
    auto parsed = Hash128::from_hex(hex);
    if (!parsed || !lower) {
      fail(field, "expected 32 lowercase hex digits, found " + printable(hex));
      return {};
    }
    return *parsed;
  }

private:
  std::string_view m_remote_name;
  std::optional<Error> m_error;
};

// One JSON object whose members are read by name; `m_field` locates it ("folders[2]").
class Fields {
public:
  Fields(Context& context, dom::element element, std::string field) : m_context(context), m_field(std::move(field)) {
    if (m_context.failed()) return; // `element` may be a default one, which must not be touched
    if (element.get_object().get(m_object) != simdjson::SUCCESS) {
      m_context.fail(m_field.empty() ? "document" : m_field, "expected an object");
      return;
    }
    m_valid = true;
    reject_duplicate_keys();
  }

  bool has(std::string_view key) {
    dom::element value;
    return m_valid && m_object.at_key(key).get(value) == simdjson::SUCCESS;
  }
  std::string text(std::string_view key) {
    auto value = lookup(key);
    return value ? m_context.text(*value, name(key)) : std::string();
  }
  Hash128 hash(std::string_view key) {
    auto value = lookup(key);
    return value ? m_context.hash(*value, name(key)) : Hash128{};
  }
  std::uint64_t unsigned_number(std::string_view key) {
    std::uint64_t number = 0;
    auto value = lookup(key);
    if (value && value->get_uint64().get(number) != simdjson::SUCCESS)
      m_context.fail(name(key), "expected an unsigned integer");
    return number;
  }
  std::int64_t signed_number(std::string_view key) {
    std::int64_t number = 0;
    auto value = lookup(key);
    if (value && value->get_int64().get(number) != simdjson::SUCCESS)
      m_context.fail(name(key), "expected a 64-bit integer");
    return number;
  }
  bool flag(std::string_view key) {
    bool flag = false;
    auto value = lookup(key);
    if (value && value->get_bool().get(flag) != simdjson::SUCCESS) m_context.fail(name(key), "expected true or false");
    return flag;
  }

  // A path member and its optional `<key>_hex` twin (docs/remote-format.md, "Names that are not
  // UTF-8"): the twin holds the exact bytes, and the text must be their lossy display form.
  std::string path(std::string_view key) {
    std::string text = this->text(key);
    std::string hex_key = std::string(key) + "_hex";
    if (m_context.failed() || !has(hex_key)) return text;
    std::string hex = this->text(hex_key);
    auto bytes = from_hex(hex);
    if (!bytes) {
      m_context.fail(name(hex_key), "expected lowercase hex digits");
    } else if (is_valid_utf8(*bytes)) {
      m_context.fail(name(hex_key), "present although the name is valid UTF-8");
    } else if (lossy_utf8(*bytes) != text) {
      m_context.fail(name(key), printable(text) + " is not the display form of " + std::string(hex_key));
    }
    return bytes.value_or(std::string());
  }

  void require_format() {
    std::string format = text("format");
    if (!m_context.failed() && format != k_format)
      m_context.fail(name("format"), printable(format) + " is not " + std::string(k_format));
  }

  // Calls visit(element, "key[i]") for each element of the array member `key`.
  template <class Visit> void each(std::string_view key, Visit&& visit) {
    auto value = lookup(key);
    dom::array array;
    if (!value) return;
    if (value->get_array().get(array) != simdjson::SUCCESS) return m_context.fail(name(key), "expected an array");
    std::size_t index = 0;
    for (dom::element item : array) {
      if (m_context.failed()) return;
      visit(item, name(key) + "[" + std::to_string(index++) + "]");
    }
  }

private:
  std::string name(std::string_view key) const {
    return m_field.empty() ? std::string(key) : m_field + "." + std::string(key);
  }
  std::optional<dom::element> lookup(std::string_view key) {
    dom::element value;
    if (!m_valid || m_context.failed()) return std::nullopt;
    if (m_object.at_key(key).get(value) != simdjson::SUCCESS) {
      m_context.fail(name(key), "missing");
      return std::nullopt;
    }
    return value;
  }
  // The DOM keeps every duplicate and at_key() finds the first: a second "generation" further
  // on would be invisible here yet seen by another reader. Sorting keeps hostile objects with
  // many members O(n log n).
  void reject_duplicate_keys() {
    std::vector<std::string_view> keys;
    for (dom::key_value_pair member : m_object)
      keys.push_back(member.key);
    std::sort(keys.begin(), keys.end());
    auto repeated = std::adjacent_find(keys.begin(), keys.end());
    if (repeated != keys.end()) m_context.fail(name(*repeated), "appears twice");
  }

  Context& m_context;
  std::string m_field;
  dom::object m_object;
  bool m_valid = false;
};

// The parsed document and everything its elements point into.
class Document {
public:
  Document(std::string_view bytes, Context& context) : m_parser(k_max_document) {
    if (bytes.size() > k_max_document) {
      context.fail("", "larger than 256 MiB");
      return;
    }
    m_padded = simdjson::padded_string(bytes.data(), bytes.size());
    auto error = m_parser.parse(m_padded).get(m_root);
    if (error != simdjson::SUCCESS) context.fail("", std::string("not valid JSON: ") + simdjson::error_message(error));
  }
  dom::element root() const { return m_root; }

private:
  dom::parser m_parser;
  simdjson::padded_string m_padded;
  dom::element m_root;
};

FileEntry read_file_entry(Context& context, dom::element element, std::string field) {
  Fields fields(context, element, field);
  FileEntry file;
  file.path = fields.path("path");
  file.size = fields.unsigned_number("size");
  file.mtime_ns = fields.signed_number("mtime_ns");
  file.xxh3_128 = fields.hash("xxh3_128");
  if (fields.has("chunk_size")) file.chunks.set_chunk_size(fields.unsigned_number("chunk_size"));
  if (fields.has("chunks"))
    fields.each("chunks", [&](dom::element item, std::string at) {
      file.chunks.mutable_hashes().push_back(context.hash(item, at));
    });
  return file;
}

FolderRef read_folder_ref(Context& context, dom::element element, std::string field) {
  Fields fields(context, element, std::move(field));
  FolderRef folder;
  folder.path = fields.path("path");
  folder.generation = fields.unsigned_number("generation");
  folder.manifest = fields.path("manifest");
  folder.manifest_size = fields.unsigned_number("manifest_size");
  folder.manifest_xxh3_128 = fields.hash("manifest_xxh3_128");
  folder.files = fields.unsigned_number("files");
  folder.bytes = fields.unsigned_number("bytes");
  return folder;
}

// `staged`, `direct` and `resume_token` may be left out for their defaults (remote-format.md §7).
JournalEntry read_journal_entry(Context& context, dom::element element, std::string field, std::string_view txid) {
  Fields fields(context, element, std::move(field));
  JournalEntry entry;
  entry.path = fields.path("path");
  entry.size = fields.unsigned_number("size");
  entry.mtime_ns = fields.signed_number("mtime_ns");
  entry.direct = fields.has("direct") && fields.flag("direct");
  if (fields.has("staged"))
    entry.staged = fields.path("staged");
  else
    entry.staged = entry.direct ? entry.path : default_staged_path(txid, entry.path);
  if (fields.has("resume_token")) entry.resume_token = fields.text("resume_token");
  return entry;
}

// The commit record's tail: `,"checksum":"<32 hex>"}` and one "\n" (docs/remote-format.md).
constexpr std::string_view k_checksum_head = ",\"checksum\":\"";
constexpr std::string_view k_checksum_end = "\"}\n";
constexpr std::size_t k_checksum_tail = k_checksum_head.size() + 32 + k_checksum_end.size();

void verify_checksum(std::string_view bytes, Context& context) {
  std::size_t body = bytes.size() < k_checksum_tail ? 0 : bytes.size() - k_checksum_tail;
  if (bytes.size() < k_checksum_tail || bytes.substr(body, k_checksum_head.size()) != k_checksum_head ||
      !bytes.ends_with(k_checksum_end))
    return context.fail("checksum", "the record does not end with ,\"checksum\":\"<32 hex digits>\"}"
                                    " and a newline: torn, or not a commit record");
  std::string_view recorded = bytes.substr(body + k_checksum_head.size(), 32);
  std::string computed = xxh3_128(bytes.substr(0, body)).to_hex();
  if (recorded != computed)
    context.fail("checksum", "the record says " + printable(recorded) + " but its bytes hash to " + computed +
                                 ": the record is damaged");
}

// The parsed value, once it also keeps the check_* rules.
template <class T>
Result<T> checked(T value, Result<void> (*check)(const T&, std::string_view), std::string_view name) {
  auto valid = check(value, name);
  if (!valid) return Unexpected(std::move(valid).error());
  return value;
}

} // namespace

Result<CommitRecord> read_commit_record(std::string_view bytes, std::string_view remote_name) {
  Context context(remote_name);
  verify_checksum(bytes, context);
  if (context.failed()) return Unexpected(context.error());
  Document document(bytes, context);
  Fields fields(context, document.root(), "");
  CommitRecord record;
  fields.require_format();
  record.repository_id = fields.text("repository_id");
  record.generation = fields.unsigned_number("generation");
  record.parent = fields.unsigned_number("parent");
  record.txid = fields.text("txid");
  record.committed_at = fields.text("committed_at");
  fields.each("folders", [&](dom::element item, std::string at) {
    record.folders.push_back(read_folder_ref(context, item, std::move(at)));
  });
  fields.each("pending", [&](dom::element item, std::string at) {
    Fields entry(context, item, std::move(at));
    std::string path = entry.path("path");
    record.pending.push_back(PendingEntry{std::move(path), entry.path("staged")});
  });
  fields.hash("checksum"); // verified above; read for its type
  if (context.failed()) return Unexpected(context.error());
  return checked(std::move(record), check_commit_record, remote_name);
}

Result<FolderManifest> read_folder_manifest(std::string_view bytes, std::string_view remote_name) {
  Context context(remote_name);
  Document document(bytes, context);
  Fields fields(context, document.root(), "");
  FolderManifest manifest;
  fields.require_format();
  manifest.folder = fields.path("folder");
  manifest.txid = fields.text("txid");
  fields.each("files", [&](dom::element item, std::string at) {
    manifest.files.push_back(read_file_entry(context, item, std::move(at)));
  });
  if (context.failed()) return Unexpected(context.error());
  return checked(std::move(manifest), check_folder_manifest, remote_name);
}

Result<Journal> read_journal(std::string_view bytes, std::string_view remote_name) {
  Context context(remote_name);
  Document document(bytes, context);
  Fields fields(context, document.root(), "");
  Journal journal;
  fields.require_format();
  journal.repository_id = fields.text("repository_id");
  journal.txid = fields.text("txid");
  journal.created_at = fields.text("created_at");
  journal.base_generation = fields.unsigned_number("base_generation");
  fields.each("entries", [&](dom::element item, std::string at) {
    journal.entries.push_back(read_journal_entry(context, item, std::move(at), journal.txid));
  });
  if (context.failed()) return Unexpected(context.error());
  return checked(std::move(journal), check_journal, remote_name);
}

Result<Lease> read_lease(std::string_view bytes, std::string_view remote_name) {
  Context context(remote_name);
  Document document(bytes, context);
  Fields fields(context, document.root(), "");
  Lease lease;
  fields.require_format();
  lease.repository_id = fields.text("repository_id");
  lease.host = fields.text("host");
  lease.process = fields.text("process");
  lease.pid = fields.signed_number("pid");
  lease.taken_at = fields.text("taken_at");
  lease.sequence = fields.unsigned_number("sequence");
  if (context.failed()) return Unexpected(context.error());
  return checked(std::move(lease), check_lease, remote_name);
}

} // namespace offsite::manifest
