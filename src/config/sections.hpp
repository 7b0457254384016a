#pragma once
// Internal to the config layer: one reader per section of the file.

#include <optional>

#include "config/config.hpp"
#include "config/reader.hpp"

namespace offsite::config::detail {

// [service]; `table` may be null (all defaults).
Service read_service(Context& context, const toml::table* table);

// One [[repository]] block; `index` counts from 1. `target_ok` tells whether the target was
// read without errors, so cross-checks on target locations can trust it.
Repository read_repository(Context& context, const toml::table& table, int index, const Service& service,
                           bool& target_ok);

// [repository.target]; nullopt when its type is missing or unknown.
std::optional<TargetConfig> read_target(TableReader& reader, const Service& service);

// A key identifying where a target writes, for "two entries would overwrite each other":
// scheme family, host (lower case), port, normalized path.
std::string location_key(const TargetConfig& target);

} // namespace offsite::config::detail
