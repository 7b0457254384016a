#include "util/hash128.hpp"

#include <new>
#include <utility>

#include <xxhash.h>

namespace offsite {
namespace {

XXH3_state_t* state(void* p) { return static_cast<XXH3_state_t*>(p); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Hash128 from_xxh(XXH128_hash_t h) { return Hash128{h.high64, h.low64}; }

} // namespace

std::string Hash128::to_hex() const {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH128_hash_t{low, high});
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string text(32, '0');
  for (size_t i = 0; i < sizeof(canonical.digest); ++i) {
    text[2 * i] = k_hex[canonical.digest[i] >> 4];
    text[2 * i + 1] = k_hex[canonical.digest[i] & 0x0f];
  }
  return text;
}

std::optional<Hash128> Hash128::from_hex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  XXH128_canonical_t canonical;
  for (size_t i = 0; i < 16; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    canonical.digest[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return from_xxh(XXH128_hashFromCanonical(&canonical));
}

Hash128 xxh3_128(std::span<const std::byte> bytes) { return from_xxh(XXH3_128bits(bytes.data(), bytes.size())); }
Hash128 xxh3_128(std::string_view bytes) { return from_xxh(XXH3_128bits(bytes.data(), bytes.size())); }

Xxh3Hasher::Xxh3Hasher() : m_state(XXH3_createState()) {
  if (!m_state) throw std::bad_alloc();
  XXH3_128bits_reset(state(m_state));
}
Xxh3Hasher::~Xxh3Hasher() {
  if (m_state) XXH3_freeState(state(m_state));
}
Xxh3Hasher::Xxh3Hasher(Xxh3Hasher&& other) noexcept : m_state(std::exchange(other.m_state, nullptr)) {}
Xxh3Hasher& Xxh3Hasher::operator=(Xxh3Hasher&& other) noexcept {
  std::swap(m_state, other.m_state);
  return *this;
}
void Xxh3Hasher::update(std::span<const std::byte> bytes) {
  XXH3_128bits_update(state(m_state), bytes.data(), bytes.size());
}
void Xxh3Hasher::update(std::string_view bytes) { XXH3_128bits_update(state(m_state), bytes.data(), bytes.size()); }
Hash128 Xxh3Hasher::digest() const { return from_xxh(XXH3_128bits_digest(state(m_state))); }
void Xxh3Hasher::reset() { XXH3_128bits_reset(state(m_state)); }

} // namespace offsite
