#pragma once
// Random (version 4) UUIDs, for repository IDs and transaction IDs.

#include <optional>
#include <string>
#include <string_view>

namespace offsite {

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lowercase, from the OS's CSPRNG.
std::string generate_uuid();

// The canonical lowercase form if `text` is a UUID (any version, either case, no braces or
// spaces); nullopt otherwise. Untrusted input: the remote ID file goes through here.
std::optional<std::string> parse_uuid(std::string_view text);

} // namespace offsite
