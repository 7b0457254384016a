#pragma once
// Relative paths as the remote format stores them (BRIEF §4): '/'-separated bytes, relative to
// the mirror root (file and folder paths) or to `.offsite/` (staged files, folder manifests).
// Every path read from a remote passes through here before it is joined to anything, so a
// hostile manifest or listing can never name a file outside `<target path>/<folder>`.

#include <string>
#include <string_view>

#include "util/error.hpp"

namespace offsite::manifest {

// A non-empty path whose components are all non-empty and neither "." nor "..", with no NUL
// anywhere. A leading '/' (absolute), a trailing '/' and "//" all make an empty component.
// Backslashes, ':' and other bytes a POSIX name may hold are legal: targets that cannot store
// them say so at plan time, naming the file. The error message quotes the path and says why.
Result<void> validate_relative_path(std::string_view path);

// A folder path: "" (the repository root, the only valid empty path) or a valid relative path.
Result<void> validate_folder_path(std::string_view folder);

// `a/b`, where either side may be "" (the root): join_path("", "x") == "x".
std::string join_path(std::string_view a, std::string_view b);

// The folder `relative_file_path` belongs to (BRIEF §4): its first `folder_depth` directory
// components, or all of them when it has fewer; "" for a file at the root or a depth <= 0.
std::string folder_of(std::string_view relative_file_path, int folder_depth);

// True if `path` lies strictly inside `folder`: every non-empty path is inside the root "",
// and "a/b" is inside "a" while "a" and "ab/c" are not.
bool is_within(std::string_view folder, std::string_view path);

} // namespace offsite::manifest
