#include "manifest/manifest.hpp"

#include <algorithm>
#include <cstdio>

namespace offsite::manifest {
namespace {

bool digits(std::string_view text, std::size_t at, std::size_t count, int& value) {
  value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

char name_char(char c) {
  bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  return plain ? c : '_';
}

} // namespace

ChunkHashes::ChunkHashes(std::uint64_t chunk_size, std::vector<Hash128> hashes)
    : m_data(std::make_unique<Data>(Data{chunk_size, std::move(hashes)})) {}

ChunkHashes::ChunkHashes(const ChunkHashes& other)
    : m_data(other.m_data ? std::make_unique<Data>(*other.m_data) : nullptr) {}

ChunkHashes& ChunkHashes::operator=(const ChunkHashes& other) {
  if (this != &other) m_data = other.m_data ? std::make_unique<Data>(*other.m_data) : nullptr;
  return *this;
}

ChunkHashes::~ChunkHashes() = default;

const std::vector<Hash128>& ChunkHashes::hashes() const {
  static const std::vector<Hash128> none;
  return m_data ? m_data->hashes : none;
}

void ChunkHashes::set_chunk_size(std::uint64_t chunk_size) {
  if (!m_data && chunk_size == 0) return; // nothing to hold
  if (!m_data) m_data = std::make_unique<Data>();
  m_data->chunk_size = chunk_size;
}

std::vector<Hash128>& ChunkHashes::mutable_hashes() {
  if (!m_data) m_data = std::make_unique<Data>();
  return m_data->hashes;
}

std::string format_timestamp(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  auto seconds = floor<std::chrono::seconds>(time);
  auto day = floor<days>(seconds);
  year_month_day date{day};
  hh_mm_ss clock{seconds - day};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return text;
}

bool is_timestamp(std::string_view text) {
  int year, month, day, hour, minute, second;
  if (!digits(text, 0, 4, year) || !digits(text, 5, 2, month) || !digits(text, 8, 2, day) ||
      !digits(text, 11, 2, hour) || !digits(text, 14, 2, minute) || !digits(text, 17, 2, second))
    return false;
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') return false;
  std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month(static_cast<unsigned>(month)),
                                   std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return false; // 60: a leap second
  std::size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    std::size_t fraction = 0;
    while (++at < text.size() && text[at] >= '0' && text[at] <= '9')
      ++fraction;
    if (fraction == 0 || fraction > 9) return false;
  }
  return at + 1 == text.size() && text[at] == 'Z';
}

std::string lease_file_name(const Lease& lease) {
  std::string_view at = lease.taken_at;
  std::string name;
  if (is_timestamp(at)) {
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
      name.push_back(at[i]);
    name.push_back('T');
    for (std::size_t i : {11, 12, 14, 15, 17, 18})
      name.push_back(at[i]);
    name.push_back('Z');
  } else {
    name = "00000000T000000Z";
  }
  name.push_back('-');
  std::size_t host_bytes = std::min<std::size_t>(lease.host.size(), 63);
  for (std::size_t i = 0; i < host_bytes; ++i)
    name.push_back(name_char(lease.host[i]));
  if (host_bytes == 0) name.push_back('_');
  char tail[64];
  std::snprintf(tail, sizeof tail, "-%lld-%020llu.json", static_cast<long long>(lease.pid),
                static_cast<unsigned long long>(lease.sequence));
  name.append(tail);
  return name;
}

Hash128 manifest_hash(std::string_view bytes) { return xxh3_128(bytes); }

} // namespace offsite::manifest
