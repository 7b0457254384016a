// [repository.target]: one reader per target type. Each type reads only its own keys, so a
// key of another type (a `bucket` in an sftp target) is reported as unknown, with a note saying
// which type it belongs to.

#include "config/sections.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

namespace offsite::config::detail {
namespace {

constexpr std::array<std::string_view, 6> k_types = {"local", "smb", "sftp", "ftp", "ftps", "s3"};

struct TypeKeys {
  std::string_view type;
  std::vector<std::string_view> keys;
};

// Only for the "belongs to" note; each reader below is the real schema.
const std::vector<TypeKeys>& all_type_keys() {
  static const std::vector<TypeKeys> table = {
      {"local", {"path"}},
      {"smb", {"share", "username", "domain", "password", "port"}},
      {"sftp",
       {"host", "port", "path", "username", "password", "private_key", "private_key_passphrase", "known_hosts"}},
      {"ftp", {"host", "port", "path", "username", "password"}},
      {"ftps", {"host", "port", "path", "username", "password", "tls", "ca_file"}},
      {"s3",
       {"bucket", "prefix", "region", "endpoint", "url_style", "access_key_id", "secret_access_key", "session_token",
        "storage_class", "server_side_encryption", "ca_file"}},
  };
  return table;
}

bool has_key(const TypeKeys& type, std::string_view key) {
  for (std::string_view known : type.keys)
    if (key == known || key == fmt::format("{}_file", known) || key == fmt::format("{}_env", known)) return true;
  return false;
}

// For each key other types have and `type` lacks: "a key of s3 targets, not of sftp ones".
std::vector<std::pair<std::string_view, std::string>> foreign_keys(std::string_view type) {
  std::vector<std::pair<std::string_view, std::string>> out;
  const TypeKeys* own = nullptr;
  for (const TypeKeys& entry : all_type_keys())
    if (entry.type == type) own = &entry;
  for (const TypeKeys& entry : all_type_keys()) {
    for (std::string_view key : entry.keys) {
      if (own && has_key(*own, key)) continue;
      if (std::any_of(out.begin(), out.end(), [&](const auto& f) { return f.first == key; })) continue;
      std::vector<std::string_view> owners;
      for (const TypeKeys& other : all_type_keys())
        if (has_key(other, key)) owners.push_back(other.type);
      out.emplace_back(key, fmt::format("a key of {} targets, not of {} ones", fmt::join(owners, "/"), type));
    }
  }
  return out;
}

int count_char(std::string_view text, char c) { return static_cast<int>(std::count(text.begin(), text.end(), c)); }

std::optional<std::string> read_host(TableReader& reader) {
  auto host = reader.string("host");
  if (!host) {
    if (!reader.has("host")) reader.missing("host", "the server's name or address");
    return std::nullopt;
  }
  std::string problem;
  if (host->empty())
    problem = "the host is empty";
  else if (host->find("://") != std::string::npos)
    problem = "give the bare host name, without a scheme";
  else if (host->find('@') != std::string::npos)
    problem = "put the user name in `username`, not in the host";
  else if (host->find('/') != std::string::npos)
    problem = "put the directory in `path`, not in the host";
  else if (count_char(*host, ':') == 1)
    problem = "put the port in `port`, not in the host";
  else if (std::any_of(host->begin(), host->end(),
                       [](char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '\0'; }))
    problem = "the host contains white space";
  if (!problem.empty()) {
    reader.error_at("host", std::move(problem));
    return std::nullopt;
  }
  std::string bare = *host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') bare = bare.substr(1, bare.size() - 2);
  return bare;
}

int read_port(TableReader& reader, int default_port) {
  return static_cast<int>(reader.integer("port", 1, 65535).value_or(default_port));
}

// A path on a server: '/'-separated text, not resolved against the local config directory.
std::optional<std::string> read_remote_path(TableReader& reader, bool must_be_absolute) {
  auto path = reader.string("path");
  if (!path) {
    if (!reader.has("path")) reader.missing("path", "the directory on the server that holds the folder");
    return std::nullopt;
  }
  if (path->empty()) {
    reader.error_at("path", "the path is empty");
    return std::nullopt;
  }
  if (must_be_absolute && path->front() != '/') {
    reader.error_at("path", "the path must be absolute on the server (start with '/')");
    return std::nullopt;
  }
  if (path->find('\0') != std::string::npos) {
    reader.error_at("path", "the path contains a NUL character");
    return std::nullopt;
  }
  // "/srv/offsite/" and "/srv/offsite" are one place (names, duplicate checks).
  while (path->size() > 1 && path->back() == '/')
    path->pop_back();
  return path;
}

bool secret_given(TableReader& reader, std::string_view key) {
  return reader.has(key) || reader.has(fmt::format("{}_file", key)) || reader.has(fmt::format("{}_env", key));
}

LocalTarget read_local(TableReader& reader) {
  LocalTarget local;
  if (auto path = reader.path("path"))
    local.path = *path;
  else if (!reader.has("path"))
    reader.missing("path", "the directory that receives the folder");
  return local;
}

// '\\server\share\folder\sub' (forward slashes too) → server, share, "folder/sub".
bool parse_unc(std::string_view unc, SmbTarget& smb) {
  std::string normalized(unc);
  std::replace(normalized.begin(), normalized.end(), '/', '\\');
  if (!normalized.starts_with("\\\\")) return false;
  std::vector<std::string> parts;
  size_t start = 2;
  while (start <= normalized.size()) {
    size_t end = normalized.find('\\', start);
    if (end == std::string::npos) end = normalized.size();
    std::string part = normalized.substr(start, end - start);
    if (part == "." || part == ".." || part.find('\0') != std::string::npos) return false;
    if (!part.empty())
      parts.push_back(std::move(part));
    else if (parts.size() < 2 && end < normalized.size())
      return false; // '\\\share' or '\\server\\'
    start = end + 1;
  }
  if (parts.size() < 2) return false;
  smb.server = parts[0];
  smb.share = parts[1];
  smb.path.clear();
  for (size_t i = 2; i < parts.size(); ++i)
    smb.path += (i > 2 ? "/" : "") + parts[i];
  return true;
}

SmbTarget read_smb(TableReader& reader) {
  SmbTarget smb;
  if (auto share = reader.string("share")) {
    if (!parse_unc(*share, smb))
      reader.error_at("share", "expected a UNC path such as '\\\\server\\share\\folder' (a TOML literal string, in "
                               "single quotes, keeps the backslashes)");
  } else if (!reader.has("share")) {
    reader.missing("share", "the share in UNC form, '\\\\server\\share\\folder'");
  }
  std::string user_domain;
  if (auto username = reader.string("username")) {
    smb.username = *username;
    if (auto slash = username->find('\\'); slash != std::string::npos) {
      user_domain = username->substr(0, slash);
      smb.username = username->substr(slash + 1);
    } else if (auto at = username->rfind('@'); at != std::string::npos) {
      smb.username = username->substr(0, at);
      user_domain = username->substr(at + 1);
    }
    if (smb.username.empty() || (user_domain.empty() && smb.username != *username))
      reader.error_at("username", "expected user, DOMAIN\\user or user@domain");
  }
  if (auto domain = reader.string("domain")) {
    if (!user_domain.empty())
      reader.error_at("domain",
                      fmt::format("the username already names the domain \"{}\"; set it in one place", user_domain));
    else
      smb.domain = *domain;
  }
  if (!user_domain.empty()) smb.domain = user_domain;
  smb.password = reader.secret("password");
  smb.port = read_port(reader, 445);
  return smb;
}

SftpTarget read_sftp(TableReader& reader, const Service& service) {
  SftpTarget sftp;
  sftp.host = read_host(reader).value_or("");
  sftp.port = read_port(reader, 22);
  sftp.path = read_remote_path(reader, true).value_or("");
  if (auto username = reader.string("username")) {
    if (username->empty()) reader.error_at("username", "the user name is empty");
    sftp.username = *username;
  } else if (!reader.has("username")) {
    reader.missing("username", "the SSH user");
  }
  bool has_password = secret_given(reader, "password");
  sftp.password = reader.secret("password");
  if (auto key = reader.path("private_key")) sftp.private_key = *key;
  bool has_passphrase = secret_given(reader, "private_key_passphrase");
  sftp.private_key_passphrase = reader.secret("private_key_passphrase");
  if (has_passphrase && !reader.has("private_key"))
    reader.error_at_key(reader.has("private_key_passphrase")        ? "private_key_passphrase"
                        : reader.has("private_key_passphrase_file") ? "private_key_passphrase_file"
                                                                    : "private_key_passphrase_env",
                        "a passphrase needs a `private_key`");
  if (!has_password && !reader.has("private_key")) reader.missing("password", "sftp needs `password` or `private_key`");
  sftp.known_hosts = reader.path("known_hosts").value_or(service.state_dir / "known_hosts");
  return sftp;
}

FtpTarget read_ftp(TableReader& reader, bool ftps) {
  FtpTarget ftp;
  ftp.host = read_host(reader).value_or("");
  ftp.path = read_remote_path(reader, false).value_or("");
  if (auto username = reader.string("username")) ftp.username = *username;
  ftp.password = reader.secret("password");
  if (ftps) {
    ftp.tls = FtpTls::explicit_tls;
    if (auto tls = reader.string("tls")) {
      if (*tls == "explicit")
        ftp.tls = FtpTls::explicit_tls;
      else if (*tls == "implicit")
        ftp.tls = FtpTls::implicit_tls;
      else
        reader.error_at("tls", fmt::format("expected \"explicit\" or \"implicit\", found \"{}\"", *tls));
    }
    if (auto ca_file = reader.path("ca_file")) ftp.ca_file = *ca_file;
  }
  ftp.port = read_port(reader, ftp.tls == FtpTls::implicit_tls ? 990 : 21);
  return ftp;
}

std::string trim_slashes(std::string text) {
  while (!text.empty() && text.front() == '/')
    text.erase(text.begin());
  while (!text.empty() && text.back() == '/')
    text.pop_back();
  return text;
}

void read_s3_credentials(TableReader& reader, S3Target& s3) {
  if (auto key_id = reader.string("access_key_id")) s3.access_key_id = *key_id;
  bool has_secret = secret_given(reader, "secret_access_key");
  s3.secret_access_key = reader.secret("secret_access_key");
  bool has_token = secret_given(reader, "session_token");
  s3.session_token = reader.secret("session_token");
  if (reader.has("access_key_id") && !has_secret)
    reader.missing("secret_access_key", "`access_key_id` needs its `secret_access_key`");
  if (!reader.has("access_key_id") && (has_secret || has_token))
    reader.missing("access_key_id", "a secret key or session token needs its `access_key_id`");
}

S3Target read_s3(TableReader& reader) {
  S3Target s3;
  if (auto bucket = reader.string("bucket")) {
    s3.bucket = *bucket;
    if (bucket->empty() || bucket->size() > 255 ||
        std::any_of(bucket->begin(), bucket->end(), [](char c) { return c == '/' || c <= ' ' || c == 0x7F; }))
      reader.error_at("bucket", "expected a bucket name (no '/', no white space); put the path in `prefix`");
  } else if (!reader.has("bucket")) {
    reader.missing("bucket", "the bucket that receives the folder");
  }
  if (auto prefix = reader.string("prefix")) {
    s3.prefix = trim_slashes(*prefix);
    if (("/" + s3.prefix + "/").find("/../") != std::string::npos || s3.prefix.find("//") != std::string::npos)
      reader.error_at("prefix", "the prefix may not contain '..' or empty components");
  }
  if (auto endpoint = reader.string("endpoint")) {
    s3.endpoint = *endpoint;
    while (s3.endpoint.ends_with('/'))
      s3.endpoint.pop_back();
    if (!(s3.endpoint.starts_with("https://") || s3.endpoint.starts_with("http://")) ||
        s3.endpoint.find_first_of(" \t\n") != std::string::npos || s3.endpoint.size() <= 8)
      reader.error_at("endpoint", "expected a URL such as \"https://s3.example.com\" or \"http://127.0.0.1:9000\"");
  }
  if (auto region = reader.string("region"))
    s3.region = *region;
  else if (!reader.has("region") && s3.endpoint.empty())
    reader.missing("region", "AWS needs the bucket's region");
  else if (s3.region.empty())
    s3.region = "us-east-1"; // what S3-compatible servers expect in signatures
  s3.url_style = s3.endpoint.empty() ? S3UrlStyle::virtual_hosted : S3UrlStyle::path;
  if (auto style = reader.string("url_style")) {
    if (*style == "virtual")
      s3.url_style = S3UrlStyle::virtual_hosted;
    else if (*style == "path")
      s3.url_style = S3UrlStyle::path;
    else
      reader.error_at("url_style", fmt::format("expected \"virtual\" or \"path\", found \"{}\"", *style));
  }
  read_s3_credentials(reader, s3);
  if (auto storage_class = reader.string("storage_class")) s3.storage_class = *storage_class;
  if (auto encryption = reader.string("server_side_encryption")) s3.server_side_encryption = *encryption;
  if (auto ca_file = reader.path("ca_file")) s3.ca_file = *ca_file;
  return s3;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

} // namespace

std::optional<TargetConfig> read_target(TableReader& reader, const Service& service) {
  auto type = reader.string("type");
  if (!type) {
    if (!reader.has("type")) reader.missing("type", fmt::format("one of {}", fmt::join(k_types, ", ")));
    return std::nullopt;
  }
  if (std::find(k_types.begin(), k_types.end(), *type) == k_types.end()) {
    std::vector<std::string_view> candidates(k_types.begin(), k_types.end());
    reader.error_at("type", fmt::format("unknown target type \"{}\"; the types are {}{}", *type,
                                        fmt::join(k_types, ", "), suggestion(*type, candidates)));
    return std::nullopt;
  }
  TargetConfig target;
  target.type = *type;
  if (*type == "local")
    target.settings = read_local(reader);
  else if (*type == "smb")
    target.settings = read_smb(reader);
  else if (*type == "sftp")
    target.settings = read_sftp(reader, service);
  else if (*type == "ftp" || *type == "ftps")
    target.settings = read_ftp(reader, *type == "ftps");
  else
    target.settings = read_s3(reader);
  reader.finish(foreign_keys(*type));
  return target;
}

std::string location_key(const TargetConfig& target) {
  struct Visitor {
    std::string operator()(const LocalTarget& local) const { return "local:" + local.path.string(); }
    std::string operator()(const SmbTarget& smb) const {
      return lower(fmt::format("smb:{}:{}/{}/{}", smb.server, smb.port, smb.share, smb.path));
    }
    std::string operator()(const SftpTarget& sftp) const {
      return fmt::format("sftp:{}:{}{}", lower(sftp.host), sftp.port,
                         std::filesystem::path(sftp.path).lexically_normal().string());
    }
    std::string operator()(const FtpTarget& ftp) const {
      return fmt::format("ftp:{}:{}/{}", lower(ftp.host), ftp.port, trim_slashes(ftp.path));
    }
    std::string operator()(const S3Target& s3) const {
      return fmt::format("s3:{}:{}/{}", lower(s3.endpoint), s3.bucket, s3.prefix);
    }
  };
  std::string key = std::visit(Visitor{}, target.settings);
  while (key.ends_with('/'))
    key.pop_back();
  return key;
}

} // namespace offsite::config::detail
