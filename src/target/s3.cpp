// The S3 target's file-system face: keys, directory markers, listing, small files, copies and
// removal. Uploads and downloads are in s3_upload.cpp; the wire protocol in net/s3_client.cpp.

#include "target/s3.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "net/crypto_library.hpp"

namespace offsite::target {
namespace {

std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::string join_keys(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return fmt::format("{}/{}", a, b);
}

} // namespace

S3Target::S3Target(S3Options options, asio::thread_pool& pool)
    : m_options(std::move(options)), m_pool(pool), m_client(m_options.endpoint, m_options.credentials),
      m_root(join_keys(m_options.prefix, m_options.folder)) {
  m_options.chunk_size = std::max<std::uint64_t>(m_options.chunk_size, 5ull << 20);
  // Pieces of a copied prefix must stay above S3's 5 MiB part minimum (see copy_prefix).
  m_options.copy_part_size = std::clamp<std::uint64_t>(m_options.copy_part_size, 10ull << 20, 5ull << 30);
}

std::string S3Target::key(std::string_view path) const { return join_keys(m_root, path); }

std::string S3Target::dir_prefix(std::string_view path) const {
  auto base = key(path);
  return base.empty() ? base : base + "/";
}

std::string S3Target::where(std::string_view path) const {
  return path.empty() ? describe() : fmt::format("{}/{}", describe(), path);
}

Capabilities S3Target::capabilities() const {
  Capabilities caps;
  caps.replace_is_atomic = true;
  caps.partial_is_visible = false;
  caps.exclusive_rename = false; // no create-only PUT without conditional writes (§2.7)
  caps.direct_upload_safe = true;
  caps.server_side_copy = true;
  caps.reports_free_space = false;
  caps.rediscovers_uploads = true;
  caps.max_connections = std::max(m_options.max_connections, 1);
  caps.max_file_size = 5ull << 40; // S3's largest object
  return caps;
}

std::string S3Target::describe() const {
  auto base = m_client.endpoint().describe();
  return m_root.empty() ? base : fmt::format("{}/{}", base, m_root);
}

asio::awaitable<Result<void>> S3Target::connect() {
  if (auto valid = check_path(m_options.folder); !valid)
    co_return make_error(ErrorKind::config,
                         fmt::format("invalid folder \"{}\": {}", m_options.folder, valid.error().message));
  if (m_options.credentials.access_key_id.empty() || m_options.credentials.secret_access_key.empty())
    co_return make_error(ErrorKind::config, fmt::format("{}: no S3 credentials: set access_key_id and "
                                                        "secret_access_key, or AWS_ACCESS_KEY_ID and "
                                                        "AWS_SECRET_ACCESS_KEY",
                                                        describe()));
  // Signing and payload hashes need libcrypto, opened now rather than at start (crypto_library.hpp).
  if (auto loaded = net::crypto_library(); !loaded) co_return Unexpected(loaded.error());
  // One cheap listing proves the bucket, the region and the credentials.
  auto prefix = dir_prefix("");
  auto listed = co_await m_client.list(prefix, true, 1, describe());
  if (!listed) {
    if (listed.error().kind == ErrorKind::not_found)
      co_return make_error(ErrorKind::permanent, fmt::format("{}: the bucket \"{}\" does not exist ({})", describe(),
                                                             m_client.endpoint().bucket, listed.error().message));
    co_return Unexpected(std::move(listed).error());
  }
  if (!m_root.empty()) {
    auto as_file = co_await m_client.head(m_root, describe());
    if (as_file)
      co_return make_error(ErrorKind::permanent, fmt::format("{}: exists and is not a directory", describe()));
    if (as_file.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(as_file).error());
  }
  co_return Result<void>{};
}

asio::awaitable<Result<bool>> S3Target::is_directory(std::string path) {
  auto prefix = dir_prefix(path);
  auto listed = co_await m_client.list(prefix, true, 1, where(path));
  if (!listed) co_return Unexpected(std::move(listed).error());
  co_return !listed->objects.empty() || !listed->prefixes.empty();
}

asio::awaitable<Result<RemoteEntry>> S3Target::stat(std::string path) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  std::string name(last_component(path));
  if (!path.empty()) {
    auto info = co_await m_client.head(key(path), where(path));
    if (info) co_return RemoteEntry{name, false, info->size, info->mtime_ns};
    if (info.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(info).error());
  }
  auto directory = co_await is_directory(path);
  if (!directory) co_return Unexpected(std::move(directory).error());
  if (!*directory) co_return make_error(ErrorKind::not_found, fmt::format("{}: not found", where(path)));
  co_return RemoteEntry{name, true, 0, 0};
}

asio::awaitable<Result<std::vector<RemoteEntry>>> S3Target::list(std::string dir) {
  if (auto valid = check_path(dir); !valid) co_return Unexpected(valid.error());
  auto prefix = dir_prefix(dir);
  auto listed = co_await m_client.list(prefix, true, 0, where(dir));
  if (!listed) co_return Unexpected(std::move(listed).error());
  std::vector<RemoteEntry> entries;
  bool marker = false;
  for (const auto& object : listed->objects) {
    if (!object.key.starts_with(prefix)) continue;
    auto name = object.key.substr(prefix.size());
    if (name.empty()) {
      marker = true; // the directory's own marker
      continue;
    }
    entries.push_back(RemoteEntry{std::move(name), false, object.size, object.mtime_ns});
  }
  for (const auto& common : listed->prefixes) {
    if (!common.starts_with(prefix) || common.size() < prefix.size() + 2) continue;
    entries.push_back(RemoteEntry{common.substr(prefix.size(), common.size() - prefix.size() - 1), true, 0, 0});
  }
  // Nothing under the prefix and no marker: no such directory (the bucket itself always exists).
  if (entries.empty() && !marker && !prefix.empty())
    co_return make_error(ErrorKind::not_found, fmt::format("{}: not found", where(dir)));
  co_return entries;
}

asio::awaitable<Result<void>> S3Target::make_directory(std::string path) {
  if (auto valid = check_path(path); !valid) co_return valid;
  // A marker for the root and each component that does not exist yet, none where a file is.
  std::vector<std::string> levels = {""};
  for (std::size_t at = 0; !path.empty();) {
    auto slash = path.find('/', at);
    levels.push_back(path.substr(0, slash));
    if (slash == std::string::npos) break;
    at = slash + 1;
  }
  for (const auto& level : levels) {
    if (key(level).empty()) continue; // the bucket itself
    // Already there (a marker, or keys under it): write nothing, so that a folder of another tool
    // is not touched before the engine has checked whose it is.
    auto exists = co_await is_directory(level);
    if (!exists) co_return Unexpected(std::move(exists).error());
    if (*exists) continue;
    auto as_file = co_await m_client.head(key(level), where(level));
    if (as_file)
      co_return make_error(ErrorKind::permanent, fmt::format("{}: exists and is not a directory", where(level)));
    if (as_file.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(as_file).error());
    auto payload = net::digest_payload({});
    auto made = co_await m_client.put(dir_prefix(level), payload, where(level));
    if (!made) co_return made;
  }
  co_return Result<void>{};
}

asio::awaitable<Result<std::string>> S3Target::read_file(std::string path, std::uint64_t max_size) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  if (path.empty()) co_return make_error(ErrorKind::permanent, fmt::format("{}: is a directory", where(path)));
  auto content = co_await m_client.get(key(path), max_size, where(path));
  if (!content && content.error().kind == ErrorKind::permanent &&
      content.error().message.find("is larger than") != std::string::npos)
    co_return make_error(ErrorKind::permanent,
                         fmt::format("{}: file is more than the {} bytes allowed", where(path), max_size));
  co_return content;
}

asio::awaitable<Result<void>> S3Target::write_new_file(std::string path, FileBytes bytes) {
  if (auto valid = check_path(path); !valid) co_return valid;
  if (path.empty()) co_return make_error(ErrorKind::permanent, "write_new_file: the root is not a file");
  // One PUT: the object appears whole or not at all; an existing one is replaced (no exclusive create).
  auto payload = net::digest_payload(bytes_of(*bytes));
  co_return co_await m_client.put(key(path), payload, where(path));
}

asio::awaitable<Result<void>> S3Target::copy_object(std::string from, std::string to) {
  auto source = co_await m_client.head(key(from), where(from));
  if (!source) co_return Unexpected(std::move(source).error());
  if (source->size <= m_options.single_copy_limit) co_return co_await m_client.copy(key(from), key(to), where(to));

  // Above CopyObject's limit: a multipart upload whose parts are ranges of the source.
  auto upload_id = co_await m_client.create_upload(key(to), where(to));
  if (!upload_id) co_return Unexpected(std::move(upload_id).error());
  std::uint64_t piece = std::max(m_options.copy_part_size, (source->size + 9999) / 10000);
  std::vector<net::CompletedPart> parts;
  Result<void> outcome;
  for (std::uint64_t first = 0; first < source->size && outcome; first += piece) {
    auto last = std::min(source->size, first + piece) - 1;
    auto number = static_cast<int>(parts.size() + 1);
    auto part = co_await m_client.upload_part_copy(key(from), key(to), *upload_id, number, first, last, where(to));
    if (part)
      parts.push_back(std::move(*part));
    else
      outcome = Unexpected(std::move(part).error());
  }
  if (outcome) outcome = co_await m_client.complete_upload(key(to), *upload_id, parts, where(to));
  if (!outcome) co_await m_client.abort_upload(key(to), *upload_id, where(to)); // nothing left to pay for
  co_return outcome;
}

asio::awaitable<Result<void>> S3Target::copy(std::string from, std::string to) {
  if (auto valid = check_path(from); !valid) co_return valid;
  if (auto valid = check_path(to); !valid) co_return valid;
  if (from.empty() || to.empty()) co_return make_error(ErrorKind::permanent, "copy: the root is not a file");
  co_return co_await copy_object(from, to);
}

asio::awaitable<Result<void>> S3Target::rename_to_new(std::string from, std::string to) {
  if (auto valid = check_path(from); !valid) co_return valid;
  if (auto valid = check_path(to); !valid) co_return valid;
  if (from.empty() || to.empty()) co_return make_error(ErrorKind::permanent, "rename: the root is not a file");
  // Copy, then delete: a crash in between leaves both, whole (the engine rolls forward).
  if (auto copied = co_await copy_object(from, to); !copied) co_return copied;
  co_return co_await m_client.remove(key(from), where(from));
}

asio::awaitable<Result<bool>> S3Target::abort_uploads_of(std::string path) {
  m_found.erase(path);
  auto object_key = key(path);
  auto uploads = co_await m_client.list_uploads(object_key, where(path));
  if (!uploads) co_return Unexpected(std::move(uploads).error());
  bool aborted = false;
  for (const auto& upload : *uploads) {
    if (upload.key != object_key) continue; // "a/b" lists "a/bc" too
    auto done = co_await m_client.abort_upload(object_key, upload.upload_id, where(path));
    if (!done) co_return Unexpected(std::move(done).error());
    aborted = true;
  }
  co_return aborted;
}

asio::awaitable<Result<void>> S3Target::remove(std::string path) {
  if (auto valid = check_path(path); !valid) co_return valid;
  if (path.empty())
    co_return make_error(ErrorKind::permanent, fmt::format("{}: cannot remove: is a directory", where(path)));
  auto info = co_await m_client.head(key(path), where(path));
  if (!info && info.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(info).error());
  if (info)
    if (auto removed = co_await m_client.remove(key(path), where(path)); !removed) co_return removed;
  // An unfinished multipart upload of this key costs storage while invisible: abort it too.
  auto aborted = co_await abort_uploads_of(path);
  if (!aborted) co_return Unexpected(std::move(aborted).error());
  if (info || *aborted) {
    // Its directory may have been only implied by this key: remember it existed (remove_directory).
    for (auto dir = parent_path(path); !dir.empty(); dir = parent_path(dir))
      m_emptied.insert(std::string(dir));
    co_return Result<void>{};
  }
  auto directory = co_await is_directory(path);
  if (!directory) co_return Unexpected(std::move(directory).error());
  if (*directory)
    co_return make_error(ErrorKind::permanent, fmt::format("{}: cannot remove: is a directory", where(path)));
  co_return make_error(ErrorKind::not_found, fmt::format("{}: cannot remove: not found", where(path)));
}

// A PUT, a copy or a DELETE is durable once the store answers it.
asio::awaitable<Result<void>> S3Target::make_durable() { co_return Result<void>{}; }

asio::awaitable<Result<void>> S3Target::remove_directory(std::string path) {
  if (auto valid = check_path(path); !valid) co_return valid;
  auto prefix = dir_prefix(path);
  if (prefix.empty()) co_return Result<void>{}; // the bucket itself
  auto listed = co_await m_client.list(prefix, true, 2, where(path));
  if (!listed) co_return Unexpected(std::move(listed).error());
  bool marker = false, other = !listed->prefixes.empty();
  for (const auto& object : listed->objects)
    (object.key == prefix ? marker : other) = true;
  if (other) co_return make_error(ErrorKind::permanent, fmt::format("{}: directory not empty", where(path)));
  if (!marker) {
    // No marker: a directory only implied by keys, gone with its last file (or never there).
    if (m_emptied.count(path)) co_return Result<void>{};
    co_return make_error(ErrorKind::not_found, fmt::format("{}: not found", where(path)));
  }
  co_return co_await m_client.remove(prefix, where(path));
}

asio::awaitable<Result<std::optional<std::uint64_t>>> S3Target::free_space() {
  co_return std::optional<std::uint64_t>();
}

asio::awaitable<Result<std::vector<std::string>>> S3Target::unfinished_uploads() {
  auto prefix = dir_prefix("");
  auto uploads = co_await m_client.list_uploads(prefix, describe());
  if (!uploads) co_return Unexpected(std::move(uploads).error());
  std::vector<std::string> paths;
  for (const auto& upload : *uploads) {
    auto path = upload.key.substr(std::min(prefix.size(), upload.key.size()));
    if (check_path(path) && !path.empty() && (paths.empty() || paths.back() != path)) paths.push_back(path);
  }
  co_return paths;
}

asio::awaitable<Result<void>> S3Target::discard_unfinished_uploads(std::string path) {
  if (auto valid = check_path(path); !valid) co_return valid;
  auto aborted = co_await abort_uploads_of(path);
  if (!aborted) co_return Unexpected(std::move(aborted).error());
  if (*aborted) co_return Result<void>{};
  // None there: still find out whether aborting is allowed, on an ID no upload has (S3 checks
  // permissions first: 404 NoSuchUpload means allowed), so test-connection can tell before it
  // starts an upload it might not be able to discard.
  co_return co_await m_client.abort_upload(key(path), "offsite-permission-check", where(path));
}

} // namespace offsite::target
