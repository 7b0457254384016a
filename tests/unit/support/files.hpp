#pragma once

#include <filesystem>
#include <fstream>
#include <string_view>

namespace offsite::test {

// Writes `content` to `file`, creating its folders first.
inline void write_file(const std::filesystem::path& file, std::string_view content) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << content;
}

} // namespace offsite::test
