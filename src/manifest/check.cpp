// The rules a manifest value keeps beyond its JSON types. Readers run these on everything they
// parse, so the rest of offsite may trust a record it was handed: paths are relative and inside
// the mirror, numbers are in range, and nothing is listed twice. docs/remote-format.md lists the
// same rules for people; keep the two in step.

#include "manifest/manifest.hpp"

#include <algorithm>
#include <numeric>
#include <set>

#include "manifest/remote_path.hpp"
#include "manifest/utf8.hpp"
#include "util/uuid.hpp"

namespace offsite::manifest {
namespace {

#define OFFSITE_CHECK(expr)                                                                                            \
  do {                                                                                                                 \
    if (auto checked = (expr); !checked) return checked;                                                               \
  } while (false)

// Names one field of one file in errors: "<remote>: folders[2].path: <why>".
class Where {
public:
  explicit Where(std::string_view remote_name) : m_remote_name(remote_name) {}

  Unexpected<Error> fail(std::string_view field, std::string_view why) const {
    return make_error(ErrorKind::permanent,
                      std::string(m_remote_name) + ": " + std::string(field) + ": " + std::string(why));
  }
  Result<void> uuid(std::string_view field, std::string_view value) const {
    auto canonical = parse_uuid(value);
    if (!canonical || *canonical != value) return fail(field, "not a lowercase UUID: " + printable(value));
    return {};
  }
  Result<void> timestamp(std::string_view field, std::string_view value) const {
    if (!is_timestamp(value))
      return fail(field, "not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ): " + printable(value));
    return {};
  }
  Result<void> count(std::string_view field, std::uint64_t value) const {
    if (value > k_max_count) return fail(field, std::to_string(value) + " is out of range (at most 2^62)");
    return {};
  }
  Result<void> path(std::string_view field, std::string_view value) const {
    auto valid = validate_relative_path(value);
    if (!valid) return fail(field, valid.error().message);
    return {};
  }
  Result<void> folder(std::string_view field, std::string_view value) const {
    auto valid = validate_folder_path(value);
    if (!valid) return fail(field, valid.error().message);
    return not_offsite(field, value);
  }
  // A path in the mirror: also never inside `.offsite/`, which is offsite's own and never a
  // repository file, so no manifest can make the apply step overwrite a record or a journal.
  Result<void> mirror_path(std::string_view field, std::string_view value) const {
    OFFSITE_CHECK(path(field, value));
    return not_offsite(field, value);
  }
  // `array[i].field` must differ across the array; `values[i]` is that field of element i.
  Result<void> unique(std::string_view array, std::string_view field,
                      const std::vector<std::string_view>& values) const {
    std::vector<std::size_t> order(values.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return values[a] < values[b]; });
    for (std::size_t k = 1; k < order.size(); ++k) {
      if (values[order[k]] != values[order[k - 1]]) continue;
      return fail(at(array, order[k], field),
                  printable(values[order[k]]) + " repeats " + at(array, order[k - 1], field));
    }
    return {};
  }

  Result<void> not_offsite(std::string_view field, std::string_view value) const {
    if (value == ".offsite" || value.starts_with(".offsite/"))
      return fail(field, printable(value) + " is inside .offsite/");
    return {};
  }

  static std::string at(std::string_view array, std::size_t index, std::string_view field) {
    return std::string(array) + "[" + std::to_string(index) + "]." + std::string(field);
  }

private:
  std::string_view m_remote_name;
};

bool has_prefix_component(std::string_view path, std::string_view first) {
  return path.size() > first.size() + 1 && path.starts_with(first) && path[first.size()] == '/';
}

Result<void> check_chunks(const Where& where, std::size_t i, const FileEntry& file) {
  std::uint64_t chunk_size = file.chunks.chunk_size();
  const auto& hashes = file.chunks.hashes();
  if (chunk_size == 0) {
    if (!hashes.empty()) return where.fail(Where::at("files", i, "chunks"), "present without a chunk_size");
    return {};
  }
  OFFSITE_CHECK(where.count(Where::at("files", i, "chunk_size"), chunk_size));
  std::uint64_t expected = file.size / chunk_size + (file.size % chunk_size != 0 ? 1 : 0);
  if (hashes.size() != expected)
    return where.fail(Where::at("files", i, "chunks"), std::to_string(hashes.size()) + " hashes where size " +
                                                           std::to_string(file.size) + " needs " +
                                                           std::to_string(expected));
  return {};
}

Result<void> check_folder_ref(const Where& where, std::size_t i, const FolderRef& folder, std::uint64_t generation) {
  OFFSITE_CHECK(where.folder(Where::at("folders", i, "path"), folder.path));
  if (folder.generation == 0 || folder.generation > generation)
    return where.fail(Where::at("folders", i, "generation"),
                      std::to_string(folder.generation) + " is not between 1 and the record's generation");
  OFFSITE_CHECK(where.path(Where::at("folders", i, "manifest"), folder.manifest));
  if (!has_prefix_component(folder.manifest, "folders"))
    return where.fail(Where::at("folders", i, "manifest"), printable(folder.manifest) + " is not under folders/");
  OFFSITE_CHECK(where.count(Where::at("folders", i, "manifest_size"), folder.manifest_size));
  OFFSITE_CHECK(where.count(Where::at("folders", i, "files"), folder.files));
  OFFSITE_CHECK(where.count(Where::at("folders", i, "bytes"), folder.bytes));
  return {};
}

// A pending file is a committed file, so it lies inside one of the record's folders.
bool inside_some_folder(const std::set<std::string_view>& folders, std::string_view path) {
  if (folders.count("")) return true;
  for (std::size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1))
    if (folders.count(path.substr(0, slash))) return true;
  return false;
}

} // namespace

Result<void> check_folder_manifest(const FolderManifest& manifest, std::string_view remote_name) {
  Where where(remote_name);
  OFFSITE_CHECK(where.folder("folder", manifest.folder));
  OFFSITE_CHECK(where.uuid("txid", manifest.txid));
  std::vector<std::string_view> paths;
  paths.reserve(manifest.files.size());
  for (std::size_t i = 0; i < manifest.files.size(); ++i) {
    const FileEntry& file = manifest.files[i];
    OFFSITE_CHECK(where.mirror_path(Where::at("files", i, "path"), file.path));
    if (!is_within(manifest.folder, file.path))
      return where.fail(Where::at("files", i, "path"),
                        printable(file.path) + " is not inside the folder " + printable(manifest.folder));
    OFFSITE_CHECK(where.count(Where::at("files", i, "size"), file.size));
    OFFSITE_CHECK(check_chunks(where, i, file));
    paths.push_back(file.path);
  }
  return where.unique("files", "path", paths);
}

Result<void> check_commit_record(const CommitRecord& record, std::string_view remote_name) {
  Where where(remote_name);
  OFFSITE_CHECK(where.uuid("repository_id", record.repository_id));
  if (record.generation == 0) return where.fail("generation", "0 is not a generation (they start at 1)");
  OFFSITE_CHECK(where.count("generation", record.generation));
  if (record.parent >= record.generation)
    return where.fail("parent", std::to_string(record.parent) + " is not below the generation " +
                                    std::to_string(record.generation));
  OFFSITE_CHECK(where.uuid("txid", record.txid));
  OFFSITE_CHECK(where.timestamp("committed_at", record.committed_at));
  std::vector<std::string_view> paths, manifests;
  for (std::size_t i = 0; i < record.folders.size(); ++i) {
    OFFSITE_CHECK(check_folder_ref(where, i, record.folders[i], record.generation));
    paths.push_back(record.folders[i].path);
    manifests.push_back(record.folders[i].manifest);
  }
  OFFSITE_CHECK(where.unique("folders", "path", paths));
  OFFSITE_CHECK(where.unique("folders", "manifest", manifests));
  std::set<std::string_view> folders(paths.begin(), paths.end());
  std::vector<std::string_view> pending_paths, staged;
  for (std::size_t i = 0; i < record.pending.size(); ++i) {
    const PendingEntry& entry = record.pending[i];
    OFFSITE_CHECK(where.mirror_path(Where::at("pending", i, "path"), entry.path));
    if (!inside_some_folder(folders, entry.path))
      return where.fail(Where::at("pending", i, "path"), printable(entry.path) + " is inside none of the folders");
    OFFSITE_CHECK(where.path(Where::at("pending", i, "staged"), entry.staged));
    std::string_view rest = std::string_view(entry.staged).substr(entry.staged.find('/') + 1);
    if (!has_prefix_component(entry.staged, "tx") || rest.find('/') == std::string_view::npos)
      return where.fail(Where::at("pending", i, "staged"), printable(entry.staged) + " is not under tx/<txid>/");
    pending_paths.push_back(entry.path);
    staged.push_back(entry.staged);
  }
  OFFSITE_CHECK(where.unique("pending", "path", pending_paths));
  return where.unique("pending", "staged", staged);
}

Result<void> check_journal(const Journal& journal, std::string_view remote_name) {
  Where where(remote_name);
  OFFSITE_CHECK(where.uuid("repository_id", journal.repository_id));
  OFFSITE_CHECK(where.uuid("txid", journal.txid));
  OFFSITE_CHECK(where.timestamp("created_at", journal.created_at));
  OFFSITE_CHECK(where.count("base_generation", journal.base_generation));
  std::string staging = "tx/" + journal.txid + "/";
  std::vector<std::string_view> paths, staged;
  for (std::size_t i = 0; i < journal.entries.size(); ++i) {
    const JournalEntry& entry = journal.entries[i];
    OFFSITE_CHECK(where.mirror_path(Where::at("entries", i, "path"), entry.path));
    OFFSITE_CHECK(where.count(Where::at("entries", i, "size"), entry.size));
    OFFSITE_CHECK(where.path(Where::at("entries", i, "staged"), entry.staged));
    if (entry.direct && entry.staged != entry.path)
      return where.fail(Where::at("entries", i, "staged"),
                        printable(entry.staged) + " of a direct upload is not its path");
    if (!entry.direct && !entry.staged.starts_with(staging))
      return where.fail(Where::at("entries", i, "staged"), printable(entry.staged) + " is not under " + staging);
    paths.push_back(entry.path);
    staged.push_back(entry.staged);
  }
  OFFSITE_CHECK(where.unique("entries", "path", paths));
  return where.unique("entries", "staged", staged);
}

Result<void> check_lease(const Lease& lease, std::string_view remote_name) {
  Where where(remote_name);
  OFFSITE_CHECK(where.uuid("repository_id", lease.repository_id));
  if (lease.host.empty()) return where.fail("host", "is empty");
  if (lease.pid <= 0 || lease.pid > 0xffffffffll)
    return where.fail("pid", std::to_string(lease.pid) + " is not a process ID");
  OFFSITE_CHECK(where.timestamp("taken_at", lease.taken_at));
  return where.count("sequence", lease.sequence);
}

} // namespace offsite::manifest
