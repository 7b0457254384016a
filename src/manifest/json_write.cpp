// Deterministic JSON for the remote format: members in a fixed order, no whitespace, integers in
// plain decimal, strings escaped per RFC 8259 with only the escapes it requires (`"`, `\` and
// control bytes; everything else as UTF-8). Equal values give equal bytes, which the commit
// record's checksum and the fuzzers' round trips rely on.

#include "manifest/manifest.hpp"

#include <utility>

#include "manifest/utf8.hpp"

namespace offsite::manifest {
namespace {

class JsonOut {
public:
  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  // The next value is this member's.
  JsonOut& key(std::string_view name) {
    comma();
    quote(name);
    m_out.push_back(':');
    m_after_key = true;
    return *this;
  }
  // Text that is not a path: a byte that is not UTF-8 becomes U+FFFD (readers never see such
  // a string, so only a caller's bug can lose anything here).
  void text(std::string_view value) {
    start_value();
    quote(lossy_utf8(value));
  }
  void number(std::uint64_t value) {
    start_value();
    m_out += std::to_string(value);
  }
  void number(std::int64_t value) {
    start_value();
    m_out += std::to_string(value);
  }
  void boolean(bool value) {
    start_value();
    m_out += value ? "true" : "false";
  }
  void hash(const Hash128& value) { text(value.to_hex()); }

  // A path member: `name` holds the text, and `name_hex` the exact bytes when they are not UTF-8.
  void path(std::string_view name, std::string_view bytes) {
    key(name).text(bytes);
    if (!is_valid_utf8(bytes)) key(std::string(name) + "_hex").text(to_hex(bytes));
  }

  std::string& bytes() { return m_out; }

private:
  void open(char bracket) {
    start_value();
    m_out.push_back(bracket);
    m_first.push_back(true);
  }
  void close(char bracket) {
    m_out.push_back(bracket);
    m_first.pop_back();
  }
  void comma() {
    if (m_first.empty()) return;
    if (!m_first.back()) m_out.push_back(',');
    m_first.back() = false;
  }
  void start_value() {
    if (!std::exchange(m_after_key, false)) comma();
  }
  void quote(std::string_view utf8) {
    static constexpr char k_digits[] = "0123456789abcdef";
    m_out.push_back('"');
    for (char c : utf8) {
      switch (c) {
      case '"': m_out += "\\\""; break;
      case '\\': m_out += "\\\\"; break;
      case '\b': m_out += "\\b"; break;
      case '\f': m_out += "\\f"; break;
      case '\n': m_out += "\\n"; break;
      case '\r': m_out += "\\r"; break;
      case '\t': m_out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          m_out += "\\u00";
          m_out.push_back(k_digits[(c >> 4) & 0x0f]);
          m_out.push_back(k_digits[c & 0x0f]);
        } else {
          m_out.push_back(c);
        }
      }
    }
    m_out.push_back('"');
  }

  std::string m_out;
  std::vector<bool> m_first; // per open container: nothing written in it yet
  bool m_after_key = false;
};

void write_file_entry(JsonOut& out, const FileEntry& file) {
  out.begin_object();
  out.path("path", file.path);
  out.key("size").number(file.size);
  out.key("mtime_ns").number(file.mtime_ns);
  out.key("xxh3_128").hash(file.xxh3_128);
  if (!file.chunks.empty()) {
    out.key("chunk_size").number(file.chunks.chunk_size());
    out.key("chunks").begin_array();
    for (const auto& chunk : file.chunks.hashes())
      out.hash(chunk);
    out.end_array();
  }
  out.end_object();
}

void write_folder_ref(JsonOut& out, const FolderRef& folder) {
  out.begin_object();
  out.path("path", folder.path);
  out.key("generation").number(folder.generation);
  out.path("manifest", folder.manifest);
  out.key("manifest_size").number(folder.manifest_size);
  out.key("manifest_xxh3_128").hash(folder.manifest_xxh3_128);
  out.key("files").number(folder.files);
  out.key("bytes").number(folder.bytes);
  out.end_object();
}

// Members that hold their defaults are left out (docs/remote-format.md §7): a first sync's journal
// names every file, and the staging path is most of each entry.
void write_journal_entry(JsonOut& out, const JournalEntry& entry, std::string_view txid) {
  out.begin_object();
  out.path("path", entry.path);
  out.key("size").number(entry.size);
  out.key("mtime_ns").number(entry.mtime_ns);
  bool default_staged =
      entry.direct ? entry.staged == entry.path : entry.staged == default_staged_path(txid, entry.path);
  if (!default_staged) out.path("staged", entry.staged);
  if (entry.direct) out.key("direct").boolean(true);
  if (!entry.resume_token.empty()) out.key("resume_token").text(entry.resume_token);
  out.end_object();
}

} // namespace

std::string write_commit_record(const CommitRecord& record) {
  JsonOut out;
  out.begin_object();
  out.key("format").text(k_format);
  out.key("repository_id").text(record.repository_id);
  out.key("generation").number(record.generation);
  out.key("parent").number(record.parent);
  out.key("txid").text(record.txid);
  out.key("committed_at").text(record.committed_at);
  out.key("folders").begin_array();
  for (const auto& folder : record.folders)
    write_folder_ref(out, folder);
  out.end_array();
  out.key("pending").begin_array();
  for (const auto& entry : record.pending) {
    out.begin_object();
    out.path("path", entry.path);
    out.path("staged", entry.staged);
    out.end_object();
  }
  out.end_array();
  // The checksum covers every byte before `,"checksum"` (docs/remote-format.md).
  std::string text = std::move(out.bytes());
  std::string checksum = xxh3_128(text).to_hex();
  return text + ",\"checksum\":\"" + checksum + "\"}\n";
}

std::string write_folder_manifest(const FolderManifest& manifest) {
  JsonOut out;
  out.begin_object();
  out.key("format").text(k_format);
  out.path("folder", manifest.folder);
  out.key("txid").text(manifest.txid);
  out.key("files").begin_array();
  for (const auto& file : manifest.files)
    write_file_entry(out, file);
  out.end_array();
  out.end_object();
  return std::move(out.bytes()) + "\n";
}

struct JournalWriter::Output {
  JsonOut json;
  std::string txid;
};

JournalWriter::JournalWriter(const Journal& header, std::size_t expected_bytes) : m_out(std::make_unique<Output>()) {
  auto& out = m_out->json;
  m_out->txid = header.txid;
  out.bytes().reserve(expected_bytes);
  out.begin_object();
  out.key("format").text(k_format);
  out.key("repository_id").text(header.repository_id);
  out.key("txid").text(header.txid);
  out.key("created_at").text(header.created_at);
  out.key("base_generation").number(header.base_generation);
  out.key("entries").begin_array();
}

JournalWriter::~JournalWriter() = default;

void JournalWriter::add(const JournalEntry& entry) { write_journal_entry(m_out->json, entry, m_out->txid); }

std::string JournalWriter::finish() && {
  auto& out = m_out->json;
  out.end_array();
  out.end_object();
  out.bytes().push_back('\n');
  return std::move(out.bytes());
}

std::string default_staged_path(std::string_view txid, std::string_view path) {
  std::string staged = "tx/";
  staged.append(txid).append("/files/").append(path);
  return staged;
}

std::string write_journal(const Journal& journal) {
  JournalWriter writer(journal);
  for (const auto& entry : journal.entries)
    writer.add(entry);
  return std::move(writer).finish();
}

std::string write_lease(const Lease& lease) {
  JsonOut out;
  out.begin_object();
  out.key("format").text(k_format);
  out.key("repository_id").text(lease.repository_id);
  out.key("host").text(lease.host);
  out.key("process").text(lease.process);
  out.key("pid").number(lease.pid);
  out.key("taken_at").text(lease.taken_at);
  out.key("sequence").number(lease.sequence);
  out.end_object();
  return std::move(out.bytes()) + "\n";
}

} // namespace offsite::manifest
