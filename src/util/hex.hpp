#pragma once
// Hexadecimal text: hashes, signatures, UUIDs and the raw bytes of names that are not UTF-8.

#include <string>
#include <string_view>

namespace offsite {

// Lowercase, two digits per byte.
std::string to_hex(std::string_view bytes);

// The value of one hex digit, or -1. Lowercase only unless `uppercase_too`: the remote format
// writes lowercase and its readers accept nothing else, while a pasted hash may be either.
int hex_digit_value(char c, bool uppercase_too = false);

} // namespace offsite
