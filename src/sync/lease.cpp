#include "sync/lease.hpp"

#include <cerrno>
#include <csignal>
#include <optional>
#include <tuple>
#include <unistd.h>

#include <fmt/format.h>

#include "sync/remote_layout.hpp"
#include "target/target.hpp"
#include "util/log.hpp"
#include "util/uuid.hpp"

namespace offsite::sync {
namespace {

std::int64_t to_ns(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

// Whether process `pid` runs on this machine (EPERM: it runs, as another user).
bool process_is_running(std::int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// Parses "YYYY-MM-DDTHH:MM:SS…Z" into nanoseconds since the epoch; 0 if it cannot.
std::int64_t parse_timestamp_ns(const std::string& text) {
  std::tm tm{};
  if (::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<std::int64_t>(::timegm(&tm)) * 1'000'000'000;
}

} // namespace

std::string lease_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown-host";
  return name;
}

RemoteLease::RemoteLease(target::Target& target, std::string repository_id, std::string process) : m_target(target) {
  m_lease.repository_id = std::move(repository_id);
  m_lease.host = lease_host_name();
  m_lease.process = std::move(process);
  m_lease.pid = static_cast<std::int64_t>(::getpid());
}

asio::awaitable<Result<std::int64_t>> RemoteLease::remote_now_ns() {
  // The remote's clock, read from a probe file's time: machines' clocks disagree, and the lease
  // of another machine must be judged by one clock.
  auto probe = fmt::format("{}/probe-{}", layout::k_lock, generate_uuid());
  if (auto written = co_await m_target.write_new_file(probe, ""); !written)
    co_return Unexpected(std::move(written).error());
  auto entry = co_await m_target.stat(probe);
  co_await m_target.remove(probe);
  if (!entry) co_return Unexpected(std::move(entry).error());
  co_return entry->mtime_ns != 0 ? entry->mtime_ns : to_ns(std::chrono::system_clock::now());
}

asio::awaitable<Result<void>> RemoteLease::acquire() {
  if (auto free = co_await inspect_others(std::nullopt); !free) co_return free;
  if (auto written = co_await write_lease(); !written) co_return written;
  // Two writers may both find no lease at the same instant and both write one: looking again
  // after writing, the one whose lease came later sees the other's and backs off.
  // Our own lease by name, not from a listing: listings may lag (S3), its time may not.
  auto written_entry = co_await m_target.stat(m_current_name);
  if (!written_entry) co_return Unexpected(written_entry.error().with_context("reading back the remote lease"));
  std::optional<target::RemoteEntry> ours = std::move(*written_entry);
  ours->name = std::string(target::last_component(m_current_name));
  if (auto alone = co_await inspect_others(ours); !alone) {
    co_await release();
    co_return alone;
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> RemoteLease::inspect_others(std::optional<target::RemoteEntry> ours) {
  std::string lock_dir(layout::k_lock);
  auto entries = co_await m_target.list(lock_dir);
  if (!entries && entries.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(entries).error());
  if (entries && !entries->empty()) {
    // The remote's clock: our own lease's time once it is written, else a probe's.
    Result<std::int64_t> now =
        ours && ours->mtime_ns != 0 ? Result<std::int64_t>(ours->mtime_ns) : Result<std::int64_t>(0);
    if (!ours || ours->mtime_ns == 0) now = co_await remote_now_ns();
    if (!now) co_return Unexpected(std::move(now).error());
    for (const auto& entry : *entries) {
      if (entry.is_directory || (ours && entry.name == ours->name)) continue;
      auto path = target::join_path(layout::k_lock, entry.name);
      if (entry.name.rfind("probe-", 0) == 0 || target::is_temporary_name(entry.name)) {
        // Another writer's probe, or a lease or probe it is writing right now, lives for a
        // moment; one older than a lease is the remains of a writer killed mid-write.
        if (entry.mtime_ns != 0 && std::chrono::nanoseconds(*now - entry.mtime_ns) > k_lease_lifetime)
          co_await m_target.remove(path);
        continue;
      }
      auto bytes = co_await m_target.read_file(path, 64 * 1024);
      if (!bytes) {
        if (bytes.error().kind == ErrorKind::not_found) continue; // renewed away meanwhile
        co_return Unexpected(std::move(bytes).error());
      }
      auto lease = manifest::read_lease(*bytes, m_target.describe() + "/" + path);
      bool stale = !lease; // unreadable: not a lease anyone can hold
      if (lease) {
        std::int64_t renewed_ns = entry.mtime_ns != 0 ? entry.mtime_ns : parse_timestamp_ns(lease->taken_at);
        auto age = std::chrono::nanoseconds(*now - renewed_ns);
        stale = age > k_lease_lifetime;
        if (!stale && lease->host == m_lease.host && !process_is_running(lease->pid)) stale = true;
        // After ours is written, only a lease written before it (by the remote's clock, then by
        // name: one order every writer sees alike) wins; a later one's writer backs off itself.
        bool earlier = !ours || std::tie(entry.mtime_ns, entry.name) < std::tie(ours->mtime_ns, ours->name);
        if (!stale && !earlier) continue;
        if (!stale)
          co_return make_error(ErrorKind::permanent,
                               fmt::format("{}/{}: another writer holds the lease: {} (pid {}) on host {}, renewed "
                                           "{} s ago. Two syncs of this folder must not run at once; if that writer "
                                           "is gone, its lease expires {} minutes after its last renewal",
                                           m_target.describe(), path, lease->process, lease->pid, lease->host,
                                           std::chrono::duration_cast<std::chrono::seconds>(age).count(),
                                           k_lease_lifetime.count()));
      }
      log::info("lease.stale_removed", {{"lease", path}});
      auto removed = co_await m_target.remove(path);
      if (!removed && removed.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(removed).error());
    }
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> RemoteLease::write_lease() {
  ++m_lease.sequence;
  m_lease.taken_at = manifest::format_timestamp(std::chrono::system_clock::now());
  auto name = target::join_path(layout::k_lock, manifest::lease_file_name(m_lease));
  auto content = manifest::write_lease(m_lease);
  auto written = co_await m_target.write_new_file(name, content);
  if (!written) co_return Unexpected(written.error().with_context("taking the remote lease"));
  auto previous = std::exchange(m_current_name, name);
  if (!previous.empty() && previous != name) co_await m_target.remove(previous);
  co_return Result<void>{};
}

asio::awaitable<Result<void>> RemoteLease::renew() { co_return co_await write_lease(); }

asio::awaitable<void> RemoteLease::release() {
  if (m_current_name.empty()) co_return;
  auto removed = co_await m_target.remove(m_current_name);
  if (!removed && removed.error().kind != ErrorKind::not_found)
    log::warning("lease.release_failed", {{"error", removed.error().message}});
  m_current_name.clear();
}

} // namespace offsite::sync
