// known_hosts, as OpenSSH reads it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): one key per line,
// `[marker] names keytype base64-key [comment]`. `names` is a comma-separated list of patterns
// (`*`, `?`, a leading `!` negates) or one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt,
// name))`. A server on a port other than 22 is named `[host]:port`.
//
// The verdict mirrors OpenSSH's: a line with this very key trusts it (unless an @revoked line
// holds it); a line with another key *of the same type* means the key changed; keys of other
// types are not a conflict, since a server has one key per type: the session then asks the server
// for a type we know first (ssh_session.cpp), so a known server is never reported "unknown".

#include "net/known_hosts.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "net/crypto_library.hpp"

#include "util/fs.hpp"

namespace offsite::net {
namespace {

constexpr std::string_view k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// The next whitespace-separated field of `rest`, which is advanced past it.
std::string_view next_field(std::string_view& rest) {
  rest = trim(rest);
  auto end = rest.find_first_of(" \t");
  auto field = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  return field;
}

// OpenSSH's match_pattern(): `*` any run, `?` one character, case-insensitive for host names.
bool wildcard_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || lower(pattern[p]) == lower(name[n]))) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool hashed_name_matches(std::string_view field, std::string_view name) {
  // |1|salt|hash
  auto rest = field.substr(3);
  auto bar = rest.find('|');
  if (bar == std::string_view::npos) return false;
  std::string salt, expected;
  if (!base64_decode(rest.substr(0, bar), salt) || !base64_decode(rest.substr(bar + 1), expected)) return false;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (!crypto().hmac(crypto().sha1(), salt.data(), static_cast<int>(salt.size()),
                     reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest.data(), &length))
    return false;
  return length == expected.size() && std::memcmp(digest.data(), expected.data(), length) == 0;
}

// Whether the names field of a line covers `name`: some pattern matches and no negated one does.
bool names_match(std::string_view field, std::string_view name) {
  if (field.rfind("|1|", 0) == 0) return hashed_name_matches(field, name);
  bool matched = false;
  while (!field.empty()) {
    auto comma = field.find(',');
    auto pattern = field.substr(0, comma);
    field = comma == std::string_view::npos ? std::string_view() : field.substr(comma + 1);
    bool negated = !pattern.empty() && pattern.front() == '!';
    if (negated) pattern.remove_prefix(1);
    if (!wildcard_match(pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

struct Entry {
  int line = 0;
  bool revoked = false;
  std::string type;
  std::string blob;
};

// Every usable line naming `host`:`port` (and every @revoked line, whatever it names).
std::vector<Entry> entries_for(std::string_view known_hosts, std::string_view host, int port) {
  auto name = known_hosts_name(host, port);
  std::vector<Entry> entries;
  int number = 0;
  while (!known_hosts.empty()) {
    auto newline = known_hosts.find('\n');
    auto text = trim(known_hosts.substr(0, newline));
    known_hosts = newline == std::string_view::npos ? std::string_view() : known_hosts.substr(newline + 1);
    ++number;
    if (text.empty() || text.front() == '#') continue;
    auto rest = text;
    auto names = next_field(rest);
    bool revoked = false;
    if (!names.empty() && names.front() == '@') {
      if (names != "@revoked") continue; // @cert-authority: not for plain keys
      revoked = true;
      names = next_field(rest);
    }
    auto type = next_field(rest);
    auto encoded = next_field(rest);
    Entry entry{number, revoked, std::string(type), {}};
    if (type.empty() || !base64_decode(encoded, entry.blob)) continue;
    if (!revoked && !names_match(names, name)) continue;
    entries.push_back(std::move(entry));
  }
  return entries;
}

} // namespace

std::string base64_encode(std::string_view bytes, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8 |
                 static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0})
      out += k_alphabet[(v >> shift) & 63];
  }
  std::size_t left = bytes.size() - i;
  if (left > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (left == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    if (left == 2) out += k_alphabet[(v >> 6) & 63];
    if (pad) out.append(left == 1 ? 2 : 1, '=');
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  unsigned value = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return false; // data after padding
    auto at = k_alphabet.find(c);
    if (at == std::string_view::npos) return false;
    value = value << 6 | static_cast<unsigned>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xff);
    }
  }
  return padding <= 2 && bits != 6; // a lone trailing character carries no whole byte
}

std::string key_type_of_blob(std::string_view blob) {
  if (blob.size() < 4) return {};
  std::uint32_t length = static_cast<unsigned char>(blob[0]) << 24 | static_cast<unsigned char>(blob[1]) << 16 |
                         static_cast<unsigned char>(blob[2]) << 8 | static_cast<unsigned char>(blob[3]);
  if (length == 0 || length > blob.size() - 4 || length > 64) return {};
  return std::string(blob.substr(4, length));
}

std::string fingerprint_sha256(std::string_view blob) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  crypto().digest(blob.data(), blob.size(), digest.data(), &length, crypto().sha256(), nullptr);
  auto raw = std::string_view(reinterpret_cast<const char*>(digest.data()), length);
  return "SHA256:" + base64_encode(raw, false);
}

std::string known_hosts_name(std::string_view host, int port) {
  if (port == 22) return std::string(host);
  return fmt::format("[{}]:{}", host, port);
}

HostKeyCheck check_host_key(std::string_view known_hosts, std::string_view host, int port, const HostKey& key) {
  HostKeyCheck check;
  auto entries = entries_for(known_hosts, host, port);
  for (const auto& entry : entries)
    if (entry.revoked && entry.blob == key.blob) {
      check.verdict = HostKeyVerdict::revoked;
      check.line = entry.line;
      return check;
    }
  for (const auto& entry : entries) {
    if (entry.revoked) continue;
    check.key_types.push_back(entry.type);
    if (entry.blob == key.blob) {
      check.verdict = HostKeyVerdict::trusted;
      check.line = entry.line;
    } else if (entry.type == key.type && check.verdict == HostKeyVerdict::unknown) {
      check.verdict = HostKeyVerdict::changed;
      check.line = entry.line;
    }
  }
  return check;
}

std::vector<std::string> known_key_types(std::string_view known_hosts, std::string_view host, int port) {
  std::vector<std::string> types;
  for (const auto& entry : entries_for(known_hosts, host, port))
    if (!entry.revoked && std::find(types.begin(), types.end(), entry.type) == types.end()) types.push_back(entry.type);
  return types;
}

std::string known_hosts_line(std::string_view host, int port, const HostKey& key) {
  return fmt::format("{} {} {}\n", known_hosts_name(host, port), key.type, base64_encode(key.blob));
}

Result<void> append_known_host(const std::filesystem::path& path, std::string_view line) {
  std::string content;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto read = fs::read_file(path, 16ull << 20);
    if (!read) return Unexpected(read.error());
    content = std::move(*read);
    if (!content.empty() && content.back() != '\n') content += '\n';
  } else if (auto made = fs::create_directories(path.parent_path(), 0750); !made) {
    return made;
  }
  content += line;
  return fs::write_file_atomically(path, content, 0644);
}

} // namespace offsite::net
