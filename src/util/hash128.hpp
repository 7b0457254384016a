#pragma once
// XXH3-128: the content hash of every file, folder manifest and commit record.
// Printed as `xxhsum -H2` prints it: 32 lowercase hex digits, high 64 bits first (big-endian
// canonical form, XXH128_canonicalFromHash). Printing low64 first is the classic bug.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace offsite {

struct Hash128 {
  std::uint64_t high = 0;
  std::uint64_t low = 0;

  std::string to_hex() const;
  // Exactly 32 hex digits (either case); nullopt otherwise.
  static std::optional<Hash128> from_hex(std::string_view hex);
  friend bool operator==(const Hash128&, const Hash128&) = default;
};

// One-shot hash of a buffer.
Hash128 xxh3_128(std::span<const std::byte> bytes);
Hash128 xxh3_128(std::string_view bytes);

// Streaming hasher: feed the bytes as they are read (and uploaded), then take the digest.
class Xxh3Hasher {
public:
  Xxh3Hasher();
  ~Xxh3Hasher();
  Xxh3Hasher(Xxh3Hasher&& other) noexcept;
  Xxh3Hasher& operator=(Xxh3Hasher&& other) noexcept;
  Xxh3Hasher(const Xxh3Hasher&) = delete;
  Xxh3Hasher& operator=(const Xxh3Hasher&) = delete;

  void update(std::span<const std::byte> bytes);
  void update(std::string_view bytes);
  Hash128 digest() const; // may be called more than once; update() may continue after it
  void reset();

private:
  void* m_state; // XXH3_state_t*, kept out of this header
};

} // namespace offsite
