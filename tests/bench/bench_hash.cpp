// offsite-bench-hash FILE [--drop-behind]
// Hashes FILE with repo::hash_file and prints "<xxh3-128 hex>  <seconds>  <GiB/s>", the hash in
// `xxhsum -H2`'s form so bench-hash.sh can check both tools agree before comparing their speed.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "repo/file_hasher.hpp"

using namespace offsite;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: offsite-bench-hash FILE [--drop-behind]\n");
    return 2;
  }
  std::filesystem::path file = argv[1];
  auto cache =
      argc > 2 && std::strcmp(argv[2], "--drop-behind") == 0 ? repo::CacheUse::drop_behind : repo::CacheUse::keep;
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec) {
    std::fprintf(stderr, "%s: %s\n", file.c_str(), ec.message().c_str());
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  auto hash = repo::hash_file(file, size, {}, cache);
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  if (!hash) {
    std::fprintf(stderr, "%s\n", hash.error().message.c_str());
    return 1;
  }
  double gib = static_cast<double>(size) / (1u << 30);
  std::printf("%s  %.3f  %.2f\n", hash->to_hex().c_str(), elapsed.count(), gib / elapsed.count());
  return 0;
}
