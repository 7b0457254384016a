#include "util/uuid.hpp"

#include <array>
#include <cstdint>
#include <stdexcept>

#include <openssl/rand.h>

#include "util/hex.hpp"

namespace offsite {

std::string generate_uuid() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("the system's random number generator failed");
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
