#pragma once
// An in-memory Target for engine tests: a small hierarchical filesystem with configurable
// capabilities and fault injection.
//
// - MemoryStore is "the remote": shared by every MemoryTarget made on it, so a test can crash one
//   target (a killed sync) and connect a new one (the next run) to the same state.
// - fail_nth(): the N-th call of an operation (and the `times - 1` after it) fails with a kind.
// - fail_path(): calls of an operation whose path contains a string fail.
// - crash_after_mutations(k): once the k-th mutating operation has taken effect, every later call
//   fails with ErrorKind::cancelled and changes nothing: the state a SIGKILL at that point leaves.
// - count(op): calls made so far by kind ("a no-change sync lists nothing").
// - set_listing_lag(n): list() leaves out names created by the last n mutations of the store, as
//   an S3-compatible store whose listings lag; stat() and read_file() still see them.
// - capabilities: exclusive_rename off makes rename_to_new and write_new_file replace silently
//   (SMB, some FTP servers); partial_is_visible off keeps uploads apart until finish() and gives
//   them resume tokens (S3); server_side_copy and reports_free_space as set.
// Every operation suspends once (a post), so concurrent operations interleave as on a network.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "target/target.hpp"

namespace offsite::test {

enum class Op {
  connect,
  stat,
  list,
  make_directory,
  start_upload,
  upload_write,
  upload_finish,
  upload_abort,
  uploaded_size,
  read_file,
  write_new_file,
  open_download,
  download_read,
  rename_to_new,
  remove,
  remove_directory,
  copy,
  make_durable,
  free_space,
};
inline constexpr std::size_t k_op_count = static_cast<std::size_t>(Op::free_space) + 1;
std::string_view to_string(Op op);

struct MemoryNode {
  bool is_directory = false;
  std::string content;
  std::int64_t mtime_ns = 0;
  std::uint64_t created = 0; // the store's mutation number that created this name
};

// An upload kept apart from its path until finish() (partial_is_visible = false).
struct HiddenUpload {
  std::string path;
  std::string content;
};

class MemoryStore {
public:
  MemoryStore();

  // Path → node; "" is the root, present from the start. Paths as the Target sees them.
  std::map<std::string, MemoryNode> nodes;
  std::map<std::string, HiddenUpload> hidden_uploads; // by resume token
  std::string target_path = "/memory";
  bool target_path_exists = true;              // false: connect() fails naming target_path
  std::optional<std::uint64_t> capacity;       // bytes; writing beyond fails, "no space left"
  std::set<std::string> read_only_directories; // creating or removing inside fails, permanent
  std::uint64_t mutations = 0;                 // every change to the store, all targets together
  std::uint64_t next_token = 1;                // for hidden uploads' resume tokens
  std::int64_t clock_ns = 1'700'000'000'000'000'000;

  // Test helpers: put a file (parents created), read one, list every file path (sorted).
  void put_file(const std::string& path, std::string content);
  std::optional<std::string> file(const std::string& path) const;
  bool exists(const std::string& path) const;
  std::vector<std::string> files() const;
  std::uint64_t used_bytes() const;
};

struct MemoryOptions {
  target::Capabilities capabilities = default_capabilities();
  bool yield = true; // each operation suspends once

  static target::Capabilities default_capabilities();
  // S3-like: uploads invisible until finished, atomic replace, renames that replace.
  static target::Capabilities object_store_capabilities();
};

class MemoryTarget : public target::Target {
public:
  explicit MemoryTarget(std::shared_ptr<MemoryStore> store, MemoryOptions options = {});

  // --- fault injection and counters -----------------------------------------------------------
  void fail_nth(Op op, std::size_t n, ErrorKind kind, std::size_t times = 1);
  void fail_path(Op op, std::string path_part, ErrorKind kind, std::size_t times = SIZE_MAX);
  void crash_after_mutations(std::size_t k);
  bool crashed() const { return m_crashed; }
  std::size_t mutations() const { return m_mutations; } // by this target
  std::size_t count(Op op) const { return m_counts[static_cast<std::size_t>(op)]; }
  std::size_t total_calls() const;
  void reset_counts();
  void set_listing_lag(std::size_t mutations) { m_listing_lag = mutations; }
  MemoryStore& store() { return *m_store; }
  const std::shared_ptr<MemoryStore>& shared_store() const { return m_store; }

  // --- Target ---------------------------------------------------------------------------------
  target::Capabilities capabilities() const override { return m_options.capabilities; }
  std::string describe() const override;
  asio::awaitable<Result<void>> connect() override;
  asio::awaitable<Result<target::RemoteEntry>> stat(std::string path) override;
  asio::awaitable<Result<std::vector<target::RemoteEntry>>> list(std::string dir) override;
  asio::awaitable<Result<void>> make_directory(std::string path) override;
  asio::awaitable<Result<std::unique_ptr<target::Upload>>> start_upload(std::string path,
                                                                        target::UploadOptions options) override;
  asio::awaitable<Result<std::uint64_t>> uploaded_size(std::string path, std::string resume_token) override;
  asio::awaitable<Result<std::string>> read_file(std::string path, std::uint64_t max_size) override;
  asio::awaitable<Result<void>> write_new_file(std::string path, target::FileBytes bytes) override;
  asio::awaitable<Result<std::unique_ptr<target::Download>>> open_download(std::string path,
                                                                           std::uint64_t offset) override;
  asio::awaitable<Result<void>> rename_to_new(std::string from, std::string to) override;
  asio::awaitable<Result<void>> remove(std::string path) override;
  asio::awaitable<Result<void>> remove_directory(std::string path) override;
  asio::awaitable<Result<void>> copy(std::string from, std::string to) override;
  asio::awaitable<Result<void>> make_durable() override;
  asio::awaitable<Result<std::optional<std::uint64_t>>> free_space() override;

  // Used by this target's upload and download sessions.
  asio::awaitable<Result<void>> enter(Op op, std::string path);
  void mutated();
  Result<void> check_writable(const std::string& path, std::uint64_t growth) const;
  MemoryNode* find(const std::string& path);
  Result<void> make_parents(const std::string& path);
  std::string remote_name(const std::string& path) const;

private:
  struct FailRule {
    Op op;
    std::size_t first;     // for fail_nth: 1-based call number; 0 for fail_path
    std::string path_part; // for fail_path
    ErrorKind kind;
    std::size_t remaining;
  };

  std::shared_ptr<MemoryStore> m_store;
  MemoryOptions m_options;
  std::vector<FailRule> m_rules;
  std::size_t m_counts[k_op_count] = {};
  std::size_t m_mutations = 0;
  std::optional<std::size_t> m_crash_after;
  bool m_crashed = false;
  std::size_t m_listing_lag = 0;
};

} // namespace offsite::test
