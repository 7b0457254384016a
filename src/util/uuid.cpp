#include "util/uuid.hpp"

#include <array>
#include <cstdint>
#include <random>

#include "util/hex.hpp"

namespace offsite {

namespace {

// The operating system's generator, named: libstdc++'s default source is the CPU's RDSEED/RDRAND
// where present, and some CPUs' RDRAND has been known to return the same value every time, which
// would give two repositories one ID. getentropy() is the kernel's CSPRNG; rand_s on Windows is
// RtlGenRandom.
#ifdef _WIN32
constexpr const char* k_random_source = "rand_s";
#else
constexpr const char* k_random_source = "getentropy";
#endif

} // namespace

// From std::random_device rather than OpenSSL's RAND_bytes, which made every run load libcrypto
// (net/crypto_library.hpp). Throws std::system_error if the generator fails.
std::string generate_uuid() {
  std::array<unsigned char, 16> bytes{};
  std::random_device device(k_random_source);
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    auto word = static_cast<std::uint32_t>(device());
    for (std::size_t k = 0; k < 4; ++k)
      bytes[i + k] = static_cast<unsigned char>(word >> (8 * k));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40); // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80); // RFC 4122 variant
  std::string text = to_hex({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  for (std::size_t at : {8, 13, 18, 23}) // 8-4-4-4-12
    text.insert(at, 1, '-');
  return text;
}

std::optional<std::string> parse_uuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string canonical(text);
  for (size_t i = 0; i < canonical.size(); ++i) {
    char& c = canonical[i];
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position) {
      if (c != '-') return std::nullopt;
      continue;
    }
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return canonical;
}

} // namespace offsite
