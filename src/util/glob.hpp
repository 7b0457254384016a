#pragma once
// `exclude` patterns (BRIEF §3), matched against a file's path relative to the repository root,
// '/'-separated. Semantics (gitignore-like, documented in config/offsite.toml):
//   - a pattern without '/' matches the last component at any depth ("*.tmp" excludes a/b/x.tmp);
//   - a pattern with '/' matches the whole relative path from the root ("PC-0001/Old/*");
//     a leading '/' is allowed and only anchors;
//   - '*' and '?' never cross '/'; '**' as a whole component matches any number of components;
//   - '[abc]', '[a-z]', '[!a-z]' classes; '\' escapes the next character;
//   - a pattern that matches a directory excludes everything below it.

#include <optional>
#include <string>
#include <string_view>

namespace offsite {

// nullopt if `pattern` is well formed; else what is wrong ("unclosed '['", "empty pattern", ...).
std::optional<std::string> glob_problem(std::string_view pattern);

// True if `relative_path` (a file or a directory) is matched by `pattern` (assumed well formed).
bool glob_match(std::string_view pattern, std::string_view relative_path);

} // namespace offsite
