#pragma once
// The writer's lease on the remote folder (BRIEF §6): catches the same repository synced from two
// machines (a cloned VM, a restored server) before either uploads anything. The commit fence
// (transaction.cpp) is what makes interleaving impossible; the lease makes it rare and explains it.

#include <chrono>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>

#include "manifest/manifest.hpp"
#include "target/target.hpp"
#include "util/error.hpp"

namespace offsite::sync {

inline constexpr std::chrono::minutes k_lease_renewal{1};
inline constexpr std::chrono::minutes k_lease_lifetime{5}; // unrenewed for longer: stale

class RemoteLease {
public:
  RemoteLease(target::Target& target, std::string repository_id, std::string process);

  // Takes the lease: fails (ErrorKind::permanent, naming the other writer's host and process) if
  // another writer's lease was renewed within k_lease_lifetime, judged by the remote's own clock
  // (a probe file's time); removes stale leases. A lease of a process on this host that no
  // longer runs is stale at once (a killed sync must not block the next one for 5 minutes).
  asio::awaitable<Result<void>> acquire();

  // Writes the lease under a new name and removes the previous one. Call every k_lease_renewal.
  asio::awaitable<Result<void>> renew();

  // Removes our lease; errors are only logged (a stale lease expires on its own).
  asio::awaitable<void> release();

private:
  asio::awaitable<Result<std::int64_t>> remote_now_ns();
  // Fails naming another writer's live lease (before ours is written: any; after: one written
  // before `ours`); removes stale ones.
  asio::awaitable<Result<void>> inspect_others(std::optional<target::RemoteEntry> ours);
  asio::awaitable<Result<void>> write_lease();

  target::Target& m_target;
  manifest::Lease m_lease;
  std::string m_current_name; // our lease file under .offsite/lock/, "" when none
};

// This machine's name as leases record it.
std::string lease_host_name();

} // namespace offsite::sync
