#include "util/hex.hpp"

namespace offsite {

std::string to_hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * bytes.size());
  for (unsigned char c : bytes) {
    hex.push_back(k_digits[c >> 4]);
    hex.push_back(k_digits[c & 0x0f]);
  }
  return hex;
}

int hex_digit_value(char c, bool uppercase_too) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (uppercase_too && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace offsite
