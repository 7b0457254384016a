#include "manifest/utf8.hpp"

#include <cstddef>

namespace offsite::manifest {
namespace {

// Length of the well-formed sequence starting at `i`, or 0 if the byte there starts none.
// The ranges are RFC 3629's table (also Unicode's Table 3-7).
std::size_t sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  auto in = [&](std::size_t k, unsigned lo, unsigned hi) { return k < s.size() && byte(k) >= lo && byte(k) <= hi; };
  unsigned lead = byte(i);
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return in(i + 1, 0x80, 0xbf) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    unsigned lo = lead == 0xe0 ? 0xa0 : 0x80; // no overlongs
    unsigned hi = lead == 0xed ? 0x9f : 0xbf; // no surrogates
    return in(i + 1, lo, hi) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    unsigned lo = lead == 0xf0 ? 0x90 : 0x80; // no overlongs
    unsigned hi = lead == 0xf4 ? 0x8f : 0xbf; // nothing above U+10FFFF
    return in(i + 1, lo, hi) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4 : 0;
  }
  return 0;
}

} // namespace

bool is_valid_utf8(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    std::size_t n = sequence_length(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string lossy_utf8(std::string_view bytes) {
  std::string text;
  text.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    std::size_t n = sequence_length(bytes, i);
    if (n == 0) {
      text += "\xef\xbf\xbd"; // U+FFFD
      ++i;
    } else {
      text.append(bytes.substr(i, n));
      i += n;
    }
  }
  return text;
}

std::string printable(std::string_view bytes) {
  constexpr std::size_t k_limit = 200;
  bool cut = bytes.size() > k_limit;
  std::string text = lossy_utf8(bytes.substr(0, k_limit));
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char k_digits[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(k_digits[c >> 4]);
      out.push_back(k_digits[c & 0x0f]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out += cut ? "\"..." : "\"";
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_digit_value(hex[i]);
    int lo = hex_digit_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(hi << 4 | lo));
  }
  return bytes;
}

} // namespace offsite::manifest
