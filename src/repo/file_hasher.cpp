#include "repo/file_hasher.hpp"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

namespace offsite::repo {
namespace {

Unexpected<Error> changed(const FileReader& reader, std::string_view how) {
  return make_error(ErrorKind::transient,
                    fmt::format("{}: changed while it was read ({})", reader.path().string(), how));
}

} // namespace

Result<Hash128> hash_file(const std::filesystem::path& file, std::uint64_t expected_size, const std::stop_token& stop,
                          CacheUse cache) {
  auto reader = FileReader::open(file);
  if (!reader) return Unexpected(std::move(reader).error());
  return hash_file(*reader, expected_size, stop, cache);
}

Result<Hash128> hash_file(const FileReader& reader, std::uint64_t expected_size, const std::stop_token& stop,
                          CacheUse cache) {
  const FileStat& before = reader.stat_at_open();
  if (before.size != expected_size)
    return changed(reader, fmt::format("{} bytes now, {} when scanned", before.size, expected_size));
  reader.advise_sequential();
  // One byte more than expected, so a small file that grew shows up as a full read.
  auto block_size = static_cast<std::size_t>(std::min<std::uint64_t>(expected_size + 1, k_read_block_size));
  auto block = std::make_unique_for_overwrite<std::byte[]>(block_size);
  Xxh3Hasher hasher;
  std::uint64_t offset = 0;
  for (;;) {
    if (stop.stop_requested())
      return make_error(ErrorKind::cancelled, fmt::format("{}: hashing stopped", reader.path().string()));
    auto got = reader.read_at(offset, std::span(block.get(), block_size));
    if (!got) return Unexpected(std::move(got).error());
    if (*got == 0) break;
    hasher.update(std::span<const std::byte>(block.get(), *got));
    if (cache == CacheUse::drop_behind) reader.drop_cache(offset, *got);
    offset += *got;
    if (offset > expected_size) return changed(reader, fmt::format("grew past {} bytes", expected_size));
  }
  if (offset != expected_size) return changed(reader, fmt::format("{} bytes read of {}", offset, expected_size));
  auto after = reader.stat();
  if (!after) return Unexpected(std::move(after).error());
  if (after->size != before.size || after->mtime_ns != before.mtime_ns)
    return changed(reader, "its size or modification time moved during the read");
  return hasher.digest();
}

} // namespace offsite::repo
