#pragma once
// What of a file the page cache holds, for the tests of read-ahead hints and drop-behind.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <vector>

#include <boost/test/unit_test.hpp>

namespace offsite::test {

// How many of the file's first `size` bytes' pages are in the page cache (mincore of a mapping).
inline std::size_t resident_pages(const std::filesystem::path& file, std::size_t size) {
  int fd = ::open(file.c_str(), O_RDONLY);
  BOOST_TEST_REQUIRE(fd >= 0);
  void* mapping = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  BOOST_TEST_REQUIRE(mapping != MAP_FAILED);
  auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core((size + page - 1) / page);
  BOOST_TEST_REQUIRE(::mincore(mapping, size, in_core.data()) == 0);
  ::munmap(mapping, size);
  std::size_t resident = 0;
  for (auto flag : in_core)
    resident += flag & 1;
  return resident;
}

// Writes the file's dirty pages (they cannot be dropped), then reads it all: every page cached.
inline void cache_whole_file(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY);
  BOOST_TEST_REQUIRE(fd >= 0);
  ::fdatasync(fd);
  std::vector<char> block(1 << 16);
  while (::read(fd, block.data(), block.size()) > 0) {
  }
  ::close(fd);
}

// Whether this file system lets a file's clean pages be dropped (tmpfs does not: its pages are
// the file). Tests of drop-behind have nothing to observe where it does not.
inline bool page_cache_drops(const std::filesystem::path& probe) {
  {
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    std::vector<char> bytes(1 << 16, 'p');
    BOOST_TEST_REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  bool drops = resident_pages(probe, 1 << 16) == 0;
  std::filesystem::remove(probe);
  return drops;
}

} // namespace offsite::test
