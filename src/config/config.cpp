// Operations on a loaded Config: finding a repository by what the user typed, and describing
// targets and repositories for people. Nothing here may print a secret: descriptions are built
// only from locations and user names.

#include "config/config.hpp"

#include <fmt/format.h>

#include "config/load.hpp"
#include "config/units.hpp"

namespace offsite::config {
namespace {

// IPv6 literals need brackets before a port.
std::string url_host(const std::string& host) { return host.find(':') != std::string::npos ? "[" + host + "]" : host; }

std::string url_user(const std::string& user) { return user.empty() ? std::string() : user + "@"; }

std::string with_leading_slash(const std::string& path) {
  return path.empty() || path.front() == '/' ? path : "/" + path;
}

struct Describer {
  std::string operator()(const LocalTarget& local) const { return local.path.string(); }
  std::string operator()(const SmbTarget& smb) const {
    std::string port = smb.port == 445 ? std::string() : fmt::format(":{}", smb.port);
    return fmt::format("smb://{}{}/{}{}", url_host(smb.server), port, smb.share,
                       smb.path.empty() ? std::string() : "/" + smb.path);
  }
  std::string operator()(const SftpTarget& sftp) const {
    return fmt::format("sftp://{}{}:{}{}", url_user(sftp.username), url_host(sftp.host), sftp.port, sftp.path);
  }
  std::string operator()(const FtpTarget& ftp) const {
    return fmt::format("{}://{}{}:{}{}", ftp.tls == FtpTls::none ? "ftp" : "ftps", url_user(ftp.username),
                       url_host(ftp.host), ftp.port, with_leading_slash(ftp.path));
  }
  std::string operator()(const S3Target& s3) const {
    std::string location = "s3://" + s3.bucket + (s3.prefix.empty() ? std::string() : "/" + s3.prefix);
    return s3.endpoint.empty() ? location : fmt::format("{} ({})", location, s3.endpoint);
  }
};

std::string names_of(const Config& config) {
  std::vector<std::string> names;
  for (const Repository& repository : config.repositories)
    names.push_back(fmt::format("\"{}\"", repository.name));
  return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
}

} // namespace

std::string describe_target(const TargetConfig& target) { return std::visit(Describer{}, target.settings); }

std::string describe_days(const Days& days) {
  static constexpr std::array<std::string_view, 7> names = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  if (days == k_every_day) return "every day";
  // Runs of three or more read better as ranges: "mon-fri".
  std::vector<std::string> parts;
  for (size_t i = 0; i < days.size();) {
    if (!days[i]) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end + 1 < days.size() && days[end + 1])
      ++end;
    if (end - i >= 2)
      parts.push_back(fmt::format("{}-{}", names[i], names[end]));
    else
      for (size_t k = i; k <= end; ++k)
        parts.emplace_back(names[k]);
    i = end + 1;
  }
  return parts.empty() ? std::string("never") : fmt::format("{}", fmt::join(parts, ","));
}

std::string describe_window(const Window& window) {
  if (window.all_day()) return "all day";
  return fmt::format("{}-{}", format_time_of_day(*window.start_minute), format_time_of_day(*window.end_minute));
}

std::string describe_destination(const TargetConfig& target, std::string_view folder) {
  // The endpoint note of an S3 location stays at the end: "s3://b/p/Site1 (https://host)".
  if (const auto* s3 = std::get_if<S3Target>(&target.settings); s3 && !s3->endpoint.empty()) {
    S3Target bare = *s3;
    bare.endpoint.clear();
    return fmt::format("{}/{} ({})", describe_target(TargetConfig{target.type, bare}), folder, s3->endpoint);
  }
  return fmt::format("{}/{}", describe_target(target), folder);
}

std::string summarize(const Repository& repository) {
  return fmt::format("\"{}\": {} -> {}; window {}, {}; {}", repository.name, repository.path.string(),
                     describe_destination(repository.target, repository.folder), describe_window(repository.window),
                     describe_days(repository.days),
                     repository.per_folder_upload
                         ? fmt::format("commits per folder (depth {})", repository.folder_depth)
                         : std::string("one commit per sync"));
}

Result<const Repository*> find_repository(const Config& config, std::string_view name_or_path) {
  for (const Repository& repository : config.repositories)
    if (repository.name == name_or_path) return &repository;
  std::error_code ignored;
  std::filesystem::path wanted =
      std::filesystem::absolute(std::filesystem::path(name_or_path), ignored).lexically_normal();
  if (wanted.has_relative_path() && !wanted.has_filename()) wanted = wanted.parent_path();
  std::vector<const Repository*> by_path;
  for (const Repository& repository : config.repositories)
    if (!name_or_path.empty() && repository.path == wanted) by_path.push_back(&repository);
  if (by_path.size() == 1) return by_path.front();
  if (by_path.size() > 1) {
    std::vector<std::string> names;
    for (const Repository* repository : by_path)
      names.push_back(fmt::format("\"{}\"", repository->name));
    return make_error(ErrorKind::config, fmt::format("{} repositories use the path {}; name one of them: {}",
                                                     by_path.size(), wanted.string(), fmt::join(names, ", ")));
  }
  return make_error(ErrorKind::config, fmt::format("no repository is named \"{}\" in {}; the repositories are: {}",
                                                   name_or_path, config.source.string(), names_of(config)));
}

} // namespace offsite::config
