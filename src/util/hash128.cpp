#include "util/hash128.hpp"

#include <new>
#include <utility>

#include <xxhash.h>

#include "util/hex.hpp"

namespace offsite {
namespace {

XXH3_state_t* state(void* p) { return static_cast<XXH3_state_t*>(p); }

Hash128 from_xxh(XXH128_hash_t h) { return Hash128{h.high64, h.low64}; }

} // namespace

std::string Hash128::to_hex() const {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH128_hash_t{low, high});
  return offsite::to_hex({reinterpret_cast<const char*>(canonical.digest), sizeof(canonical.digest)});
}

std::optional<Hash128> Hash128::from_hex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  XXH128_canonical_t canonical;
  for (size_t i = 0; i < 16; ++i) {
    int hi = hex_digit_value(hex[2 * i], true);
    int lo = hex_digit_value(hex[2 * i + 1], true);
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
