#pragma once
// Names on a local filesystem are bytes; JSON strings are UTF-8. These helpers let a manifest
// carry any name exactly (as hex) while keeping a readable form beside it (docs/remote-format.md,
// "Names that are not UTF-8").

#include <optional>
#include <string>
#include <string_view>

#include "util/hex.hpp"

namespace offsite::manifest {

// Well-formed UTF-8 per RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view bytes);

// `bytes` with every byte that does not start a well-formed sequence replaced by U+FFFD; a valid
// string comes back unchanged. One replacement per byte, so the rule is easy to restate elsewhere.
std::string lossy_utf8(std::string_view bytes);

// `bytes` quoted for an error message: lossy UTF-8, `"`, `\` and control bytes escaped, cut
// after 200 bytes, so a hostile name cannot flood a log line or break it in two.
std::string printable(std::string_view bytes);

using offsite::to_hex; // util/hex.hpp: lowercase, two digits per byte

// The bytes that `hex` spells, if it is an even number of lowercase hex digits.
std::optional<std::string> from_hex(std::string_view hex);

} // namespace offsite::manifest
