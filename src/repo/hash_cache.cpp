#include "repo/hash_cache.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <xxhash.h>

#include "util/fs.hpp"

namespace offsite::repo {
namespace {

constexpr std::string_view k_magic = "OFSHASHC";
constexpr std::uint32_t k_version = 1;
constexpr std::size_t k_header_size = 8 + 4 + 4 + 8;
constexpr std::size_t k_entry_fixed_size = 4 + 6 * 8;
constexpr std::size_t k_trailer_size = 16;
constexpr std::uint64_t k_max_file_size = 1ull << 32; // far beyond any real cache; a guard on input

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>(value >> (8 * i)));
}
void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>(value >> (8 * i)));
}

template <class T> T decode_le(std::string_view raw) {
  std::make_unsigned_t<T> bits = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    bits |= static_cast<std::make_unsigned_t<T>>(static_cast<unsigned char>(raw[i])) << (8 * i);
  return static_cast<T>(bits);
}

// Reads little-endian fields of the first `size` bytes of a file, front to back through a buffer:
// a cache of many files is never held whole beside what is parsed from it. A view from take() is
// valid until the next take(). Every take fails cleanly past `size` or on a read error.
class FileCursor {
public:
  FileCursor(std::istream& file, std::uint64_t size)
      : m_file(file), m_left(size), m_buffer(static_cast<std::size_t>(std::min<std::uint64_t>(size, 1 << 20))) {}
  bool take(std::size_t count, std::string_view& out) {
    if (m_end - m_pos < count && !fill(count)) return false;
    out = {m_buffer.data() + m_pos, count};
    m_pos += count;
    return true;
  }
  template <class T> bool take(T& value) {
    std::string_view raw;
    if (!take(sizeof(T), raw)) return false;
    value = decode_le<T>(raw);
    return true;
  }
  bool empty() const { return m_pos == m_end && m_left == 0; }

private:
  bool fill(std::size_t count) {
    std::size_t held = m_end - m_pos;
    if (count - held > m_left) return false;
    std::memmove(m_buffer.data(), m_buffer.data() + m_pos, held);
    m_pos = 0;
    m_end = held;
    if (m_buffer.size() < count) m_buffer.resize(count);
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(m_buffer.size() - m_end, m_left));
    if (!m_file.read(m_buffer.data() + m_end, static_cast<std::streamsize>(want))) return false;
    m_end += want;
    m_left -= want;
    return true;
  }

  std::istream& m_file;
  std::uint64_t m_left; // bytes of the file not yet in the buffer
  std::vector<char> m_buffer;
  std::size_t m_pos = 0, m_end = 0;
};

// XXH3-128 of the first `size` bytes of `file`, read through a buffer; nullopt on a read error.
std::optional<Hash128> hash_prefix(std::istream& file, std::uint64_t size) {
  Xxh3Hasher hasher;
  std::vector<char> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(size, 1 << 20)));
  while (size > 0) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size));
    if (!file.read(buffer.data(), static_cast<std::streamsize>(want))) return std::nullopt;
    hasher.update(std::string_view(buffer.data(), want));
    size -= want;
  }
  return hasher.digest();
}

std::uint64_t path_hash(std::string_view path) { return XXH3_64bits(path.data(), path.size()); }

} // namespace

HashCache HashCache::load(const std::filesystem::path& file) {
  HashCache cache;
  std::error_code ignored;
  if (!std::filesystem::exists(std::filesystem::symlink_status(file, ignored))) return cache;
  std::ifstream stream(file, std::ios::binary);
  int open_errno = errno;
  std::error_code size_error;
  auto size = stream ? std::filesystem::file_size(file, size_error) : 0;
  if (!stream || size_error) {
    auto why = std::error_code(stream ? size_error.value() : open_errno, std::generic_category()).message();
    cache.m_discarded_reason = fmt::format("cannot read {}: {}; starting with an empty hash cache", file.string(), why);
    return cache;
  }
  if (!cache.parse(stream, size)) {
    auto reason = fmt::format("{}: {}; starting with an empty hash cache", file.string(), cache.m_discarded_reason);
    cache = HashCache(); // whatever parsed before the fault is not trusted either
    cache.m_discarded_reason = std::move(reason);
  }
  return cache;
}

// Two passes over the file: the checksum first, so nothing of a corrupt file is parsed, then the
// entries; neither holds the file's bytes whole.
bool HashCache::parse(std::istream& file, std::uint64_t size) {
  auto fail = [&](std::string reason) {
    m_discarded_reason = std::move(reason);
    return false;
  };
  if (size > k_max_file_size) return fail(fmt::format("{} bytes, more than a hash cache can be", size));
  std::string_view magic;
  FileCursor header(file, std::min<std::uint64_t>(size, k_header_size));
  if (size >= k_magic.size() && (!header.take(k_magic.size(), magic) || magic != k_magic))
    return fail("not an offsite hash cache");
  if (size < k_header_size + k_trailer_size) return fail("truncated");
  std::uint32_t version = 0, reserved = 0;
  std::uint64_t count = 0;
  if (!header.take(version) || !header.take(reserved) || !header.take(count)) return fail("cannot read the header");
  if (version != k_version) return fail(fmt::format("format version {}, this offsite reads {}", version, k_version));

  std::uint64_t content_size = size - k_trailer_size;
  file.seekg(0);
  auto computed = hash_prefix(file, content_size);
  FileCursor trailer(file, k_trailer_size);
  Hash128 recorded;
  if (!computed || !trailer.take(recorded.high) || !trailer.take(recorded.low)) return fail("cannot read it");
  if (*computed != recorded) return fail("checksum mismatch (corrupt or truncated)");
  if (count > (content_size - k_header_size) / k_entry_fixed_size) return fail("entry count exceeds the file");

  if (!file.seekg(static_cast<std::streamoff>(k_header_size))) return fail("cannot read it");
  FileCursor entries(file, content_size - k_header_size);
  // What the entries do not take of the content is their paths' bytes.
  reserve(static_cast<std::size_t>(count), content_size - k_header_size - count * k_entry_fixed_size);
  std::string path; // a copy: the view into the cursor's buffer ends at the next take
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint32_t path_size = 0;
    std::string_view path_bytes;
    Entry entry{};
    if (!entries.take(path_size) || !entries.take(path_size, path_bytes))
      return fail(fmt::format("entry {} is cut short", i));
    path.assign(path_bytes);
    if (!entries.take(entry.size) || !entries.take(entry.mtime_ns) || !entries.take(entry.inode) ||
        !entries.take(entry.ctime_ns) || !entries.take(entry.hash.high) || !entries.take(entry.hash.low))
      return fail(fmt::format("entry {} is cut short", i));
    if (path.empty()) return fail(fmt::format("entry {} has an empty path", i));
    if (m_slots[find_slot(path)] != k_empty_slot) return fail(fmt::format("entry {} repeats a path", i));
    if (!append(path, entry)) return fail("too large");
  }
  if (!entries.empty()) return fail("bytes after the last entry");
  return true;
}

std::size_t HashCache::find_slot(std::string_view path) const {
  std::size_t mask = m_slots.size() - 1;
  for (std::size_t slot = path_hash(path) & mask;; slot = (slot + 1) & mask) {
    std::uint32_t index = m_slots[slot];
    if (index == k_empty_slot || path_of(m_entries[index]) == path) return slot;
  }
}

void HashCache::rebuild_index(std::size_t slot_count) {
  m_slots.assign(slot_count, k_empty_slot);
  for (std::uint32_t i = 0; i < m_entries.size(); ++i)
    m_slots[find_slot(path_of(m_entries[i]))] = i;
}

bool HashCache::append(std::string_view path, const Entry& fields) {
  if (m_paths.size() + path.size() > UINT32_MAX || m_entries.size() >= k_empty_slot - 1) return false;
  // Keep the table at most half full, so probes stay short.
  if ((m_entries.size() + 1) * 2 > m_slots.size()) rebuild_index(std::max<std::size_t>(16, m_slots.size() * 2));
  Entry entry = fields;
  entry.path_offset = static_cast<std::uint32_t>(m_paths.size());
  entry.path_size = static_cast<std::uint32_t>(path.size());
  m_paths.append(path);
  m_slots[find_slot(path)] = static_cast<std::uint32_t>(m_entries.size());
  m_entries.push_back(entry);
  return true;
}

std::optional<Hash128> HashCache::lookup(const LocalFile& file) const {
  if (m_slots.empty()) return std::nullopt;
  std::uint32_t index = m_slots[find_slot(file.path)];
  if (index == k_empty_slot) return std::nullopt;
  const Entry& entry = m_entries[index];
  if (entry.size != file.size || entry.mtime_ns != file.mtime_ns || entry.inode != file.inode ||
      entry.ctime_ns != file.ctime_ns)
    return std::nullopt;
  return entry.hash;
}

void HashCache::store(const LocalFile& file, Hash128 hash) {
  Entry fields{0, 0, file.size, file.mtime_ns, file.inode, file.ctime_ns, hash};
  if (!m_slots.empty()) {
    std::uint32_t index = m_slots[find_slot(file.path)];
    if (index != k_empty_slot) {
      fields.path_offset = m_entries[index].path_offset;
      fields.path_size = m_entries[index].path_size;
      m_entries[index] = fields;
      return;
    }
  }
  append(file.path, fields); // a full arena (4 GiB of paths) only means this file is not cached
}

void HashCache::clear() {
  std::exchange(m_paths, {});
  std::exchange(m_entries, {});
  std::exchange(m_slots, {});
}

void HashCache::reserve(std::size_t entries, std::size_t path_bytes) {
  m_entries.reserve(entries);
  m_paths.reserve(path_bytes);
  if (entries * 2 > m_slots.size()) rebuild_index(std::bit_ceil(std::max<std::size_t>(16, entries * 2)));
}

void HashCache::retain_only(const LocalView& view, const KeepIf& still_useful) {
  // In place, so a cache of many files is never held twice: mark what the view still hits, then
  // move the kept entries and their paths forward (paths lie in the arena in entry order).
  std::vector<bool> keep(m_entries.size());
  for (const auto& folder : view.folders) {
    for (const auto& file : folder.files) {
      if (m_slots.empty() || !lookup(file)) continue;
      if (still_useful && !still_useful(folder, file)) continue;
      keep[m_slots[find_slot(file.path)]] = true;
    }
  }
  std::size_t kept = 0, paths_end = 0;
  for (std::size_t i = 0; i < m_entries.size(); ++i) {
    if (!keep[i]) continue;
    Entry entry = m_entries[i];
    std::memmove(m_paths.data() + paths_end, m_paths.data() + entry.path_offset, entry.path_size);
    entry.path_offset = static_cast<std::uint32_t>(paths_end);
    paths_end += entry.path_size;
    m_entries[kept++] = entry;
  }
  // What is dropped is given back: a cache loaded whole (an older version's, which kept every
  // file) usually keeps almost nothing.
  m_entries.resize(kept);
  m_entries.shrink_to_fit();
  m_paths.resize(paths_end);
  m_paths.shrink_to_fit();
  rebuild_index(std::bit_ceil(std::max<std::size_t>(16, kept * 2)));
}

Result<void> HashCache::save(const std::filesystem::path& file) const {
  // Written through a 1 MiB buffer, hashed as it goes: a cache of many files is not built whole in
  // memory beside itself (at the end of a first sync, the moment memory peaks).
  auto produce = [this](const fs::PieceWriter& write) -> Result<void> {
    Xxh3Hasher hasher;
    constexpr std::size_t k_piece = 1 << 20;
    std::string bytes;
    bytes.reserve(k_piece + 4096);
    auto flush = [&]() -> Result<void> {
      hasher.update(bytes);
      auto written = write(bytes);
      bytes.clear();
      return written;
    };
    bytes.append(k_magic);
    put_u32(bytes, k_version);
    put_u32(bytes, 0);
    put_u64(bytes, m_entries.size());
    for (const auto& entry : m_entries) {
      put_u32(bytes, entry.path_size);
      bytes.append(path_of(entry));
      put_u64(bytes, entry.size);
      put_u64(bytes, static_cast<std::uint64_t>(entry.mtime_ns));
      put_u64(bytes, entry.inode);
      put_u64(bytes, static_cast<std::uint64_t>(entry.ctime_ns));
      put_u64(bytes, entry.hash.high);
      put_u64(bytes, entry.hash.low);
      if (bytes.size() >= k_piece) {
        if (auto written = flush(); !written) return written;
      }
    }
    if (auto written = flush(); !written) return written;
    Hash128 checksum = hasher.digest();
    put_u64(bytes, checksum.high);
    put_u64(bytes, checksum.low);
    return write(bytes);
  };
  if (auto written = fs::write_file_atomically(file, produce, 0640); !written)
    return Unexpected(written.error().with_context("cannot save the hash cache " + file.string()));
  return {};
}

} // namespace offsite::repo
