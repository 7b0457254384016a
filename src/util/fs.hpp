#pragma once
// Small, durable file helpers for local state (results, hash cache, IDs).
// The POSIX calls live in fs.cpp only, so a Windows build swaps one file.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace offsite::fs {

// Reads a whole file; refuses files larger than `max_size` (a guard against hostile input).
Result<std::string> read_file(const std::filesystem::path& path, std::uint64_t max_size = 64ull << 20);

// Writes `bytes` to a temporary name beside `path`, fsyncs it, renames it over `path` and fsyncs
// the directory: readers see the old content or the new, never a torn file, even after a crash.
Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view bytes, unsigned mode = 0640);

// The same for content too large to hold whole: `produce` hands each piece, in order, to the
// writer it is given, and returns the first failure (its own or the writer's).
using PieceWriter = std::function<Result<void>(std::string_view)>;
using PieceProducer = std::function<Result<void>(const PieceWriter&)>;
Result<void> write_file_atomically(const std::filesystem::path& path, const PieceProducer& produce,
                                   unsigned mode = 0640);

// The same without the fsyncs: readers still never see a torn file, but after a crash the file
// may be missing, old or empty. For caches whose content is checked when read.
Result<void> write_file_unsynced(const std::filesystem::path& path, std::string_view bytes, unsigned mode = 0640);

// Creates `path` holding `bytes`, whole, only if it does not exist (ErrorKind::already_exists
// otherwise): written under a temporary name, fsync'd, then linked to `path`, which fails if the
// name exists. Two processes creating the same file at once agree on one content.
Result<void> create_file_exclusively(const std::filesystem::path& path, std::string_view bytes, unsigned mode = 0640);

// fsync a directory, so a rename or create inside it survives a power cut (no-op on Windows).
Result<void> sync_directory(const std::filesystem::path& dir);

// Creates `dir` and its parents with `mode` (umask applies), like `mkdir -p`.
Result<void> create_directories(const std::filesystem::path& dir, unsigned mode = 0750);

} // namespace offsite::fs
