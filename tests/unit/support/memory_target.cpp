#include "support/memory_target.hpp"

#include <algorithm>
#include <cstring>

#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace offsite::test {

using target::Capabilities;
using target::RemoteEntry;

namespace {

Unexpected<Error> failure(ErrorKind kind, const std::string& name, std::string_view what) {
  return make_error(kind, name + ": " + std::string(what));
}

bool is_inside(const std::string& path, const std::string& dir) {
  return dir.empty() ? !path.empty()
                     : path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

class MemoryUpload final : public target::Upload {
public:
  MemoryUpload(MemoryTarget& owner, std::string path, std::string token, bool hidden)
      : m_owner(owner), m_path(std::move(path)), m_token(std::move(token)), m_hidden(hidden) {}

  asio::awaitable<Result<void>> write(std::span<const std::byte> bytes) override {
    auto entered = co_await m_owner.enter(Op::upload_write, m_path);
    if (!entered) co_return entered;
    if (m_closed) co_return failure(ErrorKind::permanent, m_owner.remote_name(m_path), "upload closed");
    if (auto writable = m_owner.check_writable(m_path, bytes.size()); !writable) co_return writable;
    std::string* content = this->content();
    if (!content) co_return failure(ErrorKind::not_found, m_owner.remote_name(m_path), "upload vanished");
    content->append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    m_owner.mutated();
    co_return Result<void>{};
  }

  asio::awaitable<Result<std::uint64_t>> finish() override {
    auto entered = co_await m_owner.enter(Op::upload_finish, m_path);
    if (!entered) co_return Unexpected(entered.error());
    if (m_closed) co_return failure(ErrorKind::permanent, m_owner.remote_name(m_path), "upload closed");
    std::string* content = this->content();
    if (!content) co_return failure(ErrorKind::not_found, m_owner.remote_name(m_path), "upload vanished");
    std::uint64_t size = content->size();
    m_closed = true;
    if (!m_hidden) co_return size;
    // The object appears whole, at once, as on S3.
    auto& store = m_owner.store();
    if (auto made = m_owner.make_parents(m_path); !made) co_return Unexpected(made.error());
    auto& node = store.nodes[m_path];
    node = MemoryNode{false, std::move(*content), store.clock_ns, store.mutations + 1};
    store.hidden_uploads.erase(m_token);
    m_owner.mutated();
    co_return size;
  }

  asio::awaitable<Result<void>> abort() override {
    auto entered = co_await m_owner.enter(Op::upload_abort, m_path);
    m_closed = true;
    co_return entered;
  }

  std::string resume_token() const override { return m_token; }

private:
  std::string* content() {
    if (m_hidden) {
      auto found = m_owner.store().hidden_uploads.find(m_token);
      return found == m_owner.store().hidden_uploads.end() ? nullptr : &found->second.content;
    }
    auto* node = m_owner.find(m_path);
    return node && !node->is_directory ? &node->content : nullptr;
  }

  MemoryTarget& m_owner;
  std::string m_path;
  std::string m_token;
  bool m_hidden;
  bool m_closed = false;
};

class MemoryDownload final : public target::Download {
public:
  MemoryDownload(MemoryTarget& owner, std::string path, std::uint64_t offset)
      : m_owner(owner), m_path(std::move(path)), m_offset(offset) {}

  asio::awaitable<Result<std::size_t>> read(std::span<std::byte> bytes) override {
    auto entered = co_await m_owner.enter(Op::download_read, m_path);
    if (!entered) co_return Unexpected(entered.error());
    auto* node = m_owner.find(m_path);
    if (!node || node->is_directory) co_return failure(ErrorKind::not_found, m_owner.remote_name(m_path), "not found");
    if (m_offset >= node->content.size()) co_return std::size_t{0};
    auto count = std::min<std::size_t>(bytes.size(), node->content.size() - m_offset);
    std::memcpy(bytes.data(), node->content.data() + m_offset, count);
    m_offset += count;
    co_return count;
  }

private:
  MemoryTarget& m_owner;
  std::string m_path;
  std::uint64_t m_offset;
};

} // namespace

std::string_view to_string(Op op) {
  static constexpr std::string_view names[k_op_count] = {
      "connect",          "stat",          "list",          "make_directory", "start_upload",
      "upload_write",     "upload_finish", "upload_abort",  "uploaded_size",  "read_file",
      "write_new_file",   "open_download", "download_read", "rename_to_new",  "remove",
      "remove_directory", "copy",          "make_durable",  "free_space"};
  return names[static_cast<std::size_t>(op)];
}

MemoryStore::MemoryStore() { nodes[""] = MemoryNode{true, {}, clock_ns, 0}; }

void MemoryStore::put_file(const std::string& path, std::string content) {
  for (auto slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1))
    nodes.try_emplace(path.substr(0, slash), MemoryNode{true, {}, clock_ns, mutations});
  nodes[path] = MemoryNode{false, std::move(content), clock_ns, mutations};
}

std::optional<std::string> MemoryStore::file(const std::string& path) const {
  auto found = nodes.find(path);
  if (found == nodes.end() || found->second.is_directory) return std::nullopt;
  return found->second.content;
}

bool MemoryStore::exists(const std::string& path) const { return nodes.count(path) != 0; }

std::vector<std::string> MemoryStore::files() const {
  std::vector<std::string> paths;
  for (const auto& [path, node] : nodes)
    if (!node.is_directory) paths.push_back(path);
  return paths;
}

std::uint64_t MemoryStore::used_bytes() const {
  std::uint64_t used = 0;
  for (const auto& [path, node] : nodes)
    used += node.content.size();
  for (const auto& [token, upload] : hidden_uploads)
    used += upload.content.size();
  return used;
}

Capabilities MemoryOptions::default_capabilities() {
  Capabilities caps;
  caps.replace_is_atomic = true;
  caps.partial_is_visible = true;
  caps.exclusive_rename = true;
  caps.direct_upload_safe = false;
  caps.server_side_copy = true;
  caps.reports_free_space = true;
  caps.max_connections = 4;
  return caps;
}

Capabilities MemoryOptions::object_store_capabilities() {
  Capabilities caps = default_capabilities();
  caps.partial_is_visible = false;
  caps.exclusive_rename = false;
  caps.direct_upload_safe = true;
  caps.reports_free_space = false;
  caps.max_connections = 8;
  return caps;
}

MemoryTarget::MemoryTarget(std::shared_ptr<MemoryStore> store, MemoryOptions options)
    : m_store(std::move(store)), m_options(options) {}

void MemoryTarget::fail_nth(Op op, std::size_t n, ErrorKind kind, std::size_t times) {
  m_rules.push_back(FailRule{op, n, {}, kind, times});
}

void MemoryTarget::fail_path(Op op, std::string path_part, ErrorKind kind, std::size_t times) {
  m_rules.push_back(FailRule{op, 0, std::move(path_part), kind, times});
}

void MemoryTarget::crash_after_mutations(std::size_t k) {
  m_crash_after = k;
  if (m_mutations >= k) m_crashed = true;
}

std::size_t MemoryTarget::total_calls() const {
  std::size_t total = 0;
  for (auto count : m_counts)
    total += count;
  return total;
}

void MemoryTarget::reset_counts() { std::fill(std::begin(m_counts), std::end(m_counts), 0); }

std::string MemoryTarget::describe() const { return "memory:" + m_store->target_path; }

std::string MemoryTarget::remote_name(const std::string& path) const {
  return path.empty() ? describe() : describe() + "/" + path;
}

asio::awaitable<Result<void>> MemoryTarget::enter(Op op, std::string path) {
  if (m_options.yield) {
    auto executor = co_await asio::this_coro::executor;
    co_await asio::post(executor, asio::use_awaitable);
  }
  auto calls = ++m_counts[static_cast<std::size_t>(op)];
  if (m_crashed)
    co_return failure(ErrorKind::cancelled, remote_name(path), "the memory target crashed (simulated SIGKILL)");
  for (auto& rule : m_rules) {
    if (rule.op != op || rule.remaining == 0) continue;
    bool hit = rule.first != 0 ? calls >= rule.first && calls - rule.first < rule.remaining
                               : path.find(rule.path_part) != std::string::npos;
    if (!hit) continue;
    if (rule.first == 0) --rule.remaining;
    co_return failure(rule.kind, remote_name(path),
                      "injected " + std::string(offsite::to_string(rule.kind)) + " failure of " +
                          std::string(to_string(op)) + " (call " + std::to_string(calls) + ")");
  }
  co_return Result<void>{};
}

void MemoryTarget::mutated() {
  ++m_mutations;
  ++m_store->mutations;
  m_store->clock_ns += 1'000'000'000;
  if (m_crash_after && m_mutations >= *m_crash_after) m_crashed = true;
}

MemoryNode* MemoryTarget::find(const std::string& path) {
  auto found = m_store->nodes.find(path);
  return found == m_store->nodes.end() ? nullptr : &found->second;
}

Result<void> MemoryTarget::check_writable(const std::string& path, std::uint64_t growth) const {
  for (const auto& dir : m_store->read_only_directories)
    if (path == dir || is_inside(path, dir))
      return failure(ErrorKind::permanent, remote_name(path), "permission denied");
  if (m_store->capacity && m_store->used_bytes() + growth > *m_store->capacity)
    return failure(ErrorKind::permanent, remote_name(path), "no space left on device");
  return {};
}

Result<void> MemoryTarget::make_parents(const std::string& path) {
  auto parent = std::string(target::parent_path(path));
  if (parent.empty()) return {};
  for (std::size_t end = 0; end != std::string::npos;) {
    end = parent.find('/', end + 1);
    auto ancestor = parent.substr(0, end);
    auto* node = find(ancestor);
    if (node && !node->is_directory) return failure(ErrorKind::permanent, remote_name(ancestor), "not a directory");
    if (node) continue;
    if (auto writable = check_writable(ancestor, 0); !writable) return writable;
    m_store->nodes[ancestor] = MemoryNode{true, {}, m_store->clock_ns, m_store->mutations + 1};
  }
  return {};
}

asio::awaitable<Result<void>> MemoryTarget::connect() {
  auto entered = co_await enter(Op::connect, "");
  if (!entered) co_return entered;
  if (!m_store->target_path_exists)
    co_return make_error(ErrorKind::permanent, m_store->target_path + ": the target path does not exist");
  co_return Result<void>{};
}

asio::awaitable<Result<RemoteEntry>> MemoryTarget::stat(std::string path) {
  if (auto valid = target::check_path(path); !valid) co_return Unexpected(valid.error());
  auto entered = co_await enter(Op::stat, path);
  if (!entered) co_return Unexpected(entered.error());
  auto* node = find(path);
  if (!node) co_return failure(ErrorKind::not_found, remote_name(path), "not found");
  co_return RemoteEntry{std::string(target::last_component(path)), node->is_directory, node->content.size(),
                        node->mtime_ns};
}

asio::awaitable<Result<std::vector<RemoteEntry>>> MemoryTarget::list(std::string dir) {
  if (auto valid = target::check_path(dir); !valid) co_return Unexpected(valid.error());
  auto entered = co_await enter(Op::list, dir);
  if (!entered) co_return Unexpected(entered.error());
  auto* node = find(dir);
  if (!node) co_return failure(ErrorKind::not_found, remote_name(dir), "not found");
  if (!node->is_directory) co_return failure(ErrorKind::permanent, remote_name(dir), "not a directory");
  auto visible_up_to = m_store->mutations > m_listing_lag ? m_store->mutations - m_listing_lag : 0;
  std::vector<RemoteEntry> entries;
  for (const auto& [path, child] : m_store->nodes) {
    if (!is_inside(path, dir)) continue;
    auto name = dir.empty() ? std::string_view(path) : std::string_view(path).substr(dir.size() + 1);
    if (name.find('/') != std::string_view::npos) continue;
    if (m_listing_lag != 0 && child.created > visible_up_to) continue;
    entries.push_back(RemoteEntry{std::string(name), child.is_directory, child.content.size(), child.mtime_ns});
  }
  co_return entries;
}

asio::awaitable<Result<void>> MemoryTarget::make_directory(std::string path) {
  if (auto valid = target::check_path(path); !valid) co_return valid;
  auto entered = co_await enter(Op::make_directory, path);
  if (!entered) co_return entered;
  if (auto* node = find(path)) {
    if (node->is_directory) co_return Result<void>{};
    co_return failure(ErrorKind::permanent, remote_name(path), "exists and is not a directory");
  }
  if (auto writable = check_writable(path, 0); !writable) co_return writable;
  if (auto made = make_parents(path); !made) co_return made;
  m_store->nodes[path] = MemoryNode{true, {}, m_store->clock_ns, m_store->mutations + 1};
  mutated();
  co_return Result<void>{};
}

asio::awaitable<Result<std::unique_ptr<target::Upload>>> MemoryTarget::start_upload(std::string path,
                                                                                    target::UploadOptions options) {
  if (auto valid = target::check_path(path); !valid) co_return Unexpected(valid.error());
  auto entered = co_await enter(Op::start_upload, path);
  if (!entered) co_return Unexpected(entered.error());
  if (auto writable = check_writable(path, 0); !writable) co_return Unexpected(writable.error());
  auto name = remote_name(path);
  auto cannot_resume = [&](std::uint64_t size) {
    return failure(ErrorKind::permanent, name,
                   "cannot resume at byte " + std::to_string(options.offset) + ": only " + std::to_string(size) +
                       " bytes uploaded");
  };
  if (!m_options.capabilities.partial_is_visible) {
    auto token = options.resume_token;
    if (token.empty()) {
      if (options.offset != 0) co_return cannot_resume(0);
      token = "upload-" + std::to_string(m_store->next_token++);
      m_store->hidden_uploads[token] = HiddenUpload{path, {}};
    } else {
      auto found = m_store->hidden_uploads.find(token);
      if (found == m_store->hidden_uploads.end() || found->second.path != path)
        co_return failure(ErrorKind::not_found, name, "no upload with that resume token");
      if (options.offset > found->second.content.size()) co_return cannot_resume(found->second.content.size());
      found->second.content.resize(options.offset);
    }
    mutated();
    co_return std::make_unique<MemoryUpload>(*this, path, token, true);
  }
  auto* node = find(path);
  if (node && node->is_directory) co_return failure(ErrorKind::permanent, name, "is a directory");
  if (!node) {
    if (options.offset != 0) co_return cannot_resume(0);
    if (auto made = make_parents(path); !made) co_return Unexpected(made.error());
    node = &m_store->nodes[path];
    *node = MemoryNode{false, {}, m_store->clock_ns, m_store->mutations + 1};
  }
  if (options.offset > node->content.size()) co_return cannot_resume(node->content.size());
  node->content.resize(options.offset);
  node->mtime_ns = m_store->clock_ns;
  mutated();
  co_return std::make_unique<MemoryUpload>(*this, path, std::string(), false);
}

asio::awaitable<Result<std::uint64_t>> MemoryTarget::uploaded_size(std::string path, std::string resume_token) {
  if (auto valid = target::check_path(path); !valid) co_return Unexpected(valid.error());
  auto entered = co_await enter(Op::uploaded_size, path);
  if (!entered) co_return Unexpected(entered.error());
  if (!resume_token.empty()) {
    auto found = m_store->hidden_uploads.find(resume_token);
    if (found != m_store->hidden_uploads.end() && found->second.path == path)
      co_return std::uint64_t{found->second.content.size()};
  }
  auto* node = find(path);
  if (!node || node->is_directory) co_return failure(ErrorKind::not_found, remote_name(path), "no upload found");
  co_return std::uint64_t{node->content.size()};
}

asio::awaitable<Result<std::string>> MemoryTarget::read_file(std::string path, std::uint64_t max_size) {
  if (auto valid = target::check_path(path); !valid) co_return Unexpected(valid.error());
  auto entered = co_await enter(Op::read_file, path);
  if (!entered) co_return Unexpected(entered.error());
  auto* node = find(path);
  if (!node) co_return failure(ErrorKind::not_found, remote_name(path), "not found");
  if (node->is_directory) co_return failure(ErrorKind::permanent, remote_name(path), "is a directory");
  if (node->content.size() > max_size)
    co_return failure(ErrorKind::permanent, remote_name(path),
                      "file is " + std::to_string(node->content.size()) + " bytes, more than the " +
                          std::to_string(max_size) + " allowed");
  co_return node->content;
}

asio::awaitable<Result<void>> MemoryTarget::write_new_file(std::string path, target::FileBytes bytes) {
  if (auto valid = target::check_path(path); !valid) co_return valid;
  auto entered = co_await enter(Op::write_new_file, path);
  if (!entered) co_return entered;
  if (auto* node = find(path)) {
    if (node->is_directory || path.empty())
      co_return failure(ErrorKind::permanent, remote_name(path), "is a directory");
    if (m_options.capabilities.exclusive_rename)
      co_return failure(ErrorKind::already_exists, remote_name(path), "already exists");
  }
  if (auto writable = check_writable(path, bytes->size()); !writable) co_return writable;
  if (auto made = make_parents(path); !made) co_return made;
  m_store->nodes[path] = MemoryNode{false, *bytes, m_store->clock_ns, m_store->mutations + 1};
  mutated();
  co_return Result<void>{};
}

asio::awaitable<Result<std::unique_ptr<target::Download>>> MemoryTarget::open_download(std::string path,
                                                                                       std::uint64_t offset) {
  if (auto valid = target::check_path(path); !valid) co_return Unexpected(valid.error());
  auto entered = co_await enter(Op::open_download, path);
  if (!entered) co_return Unexpected(entered.error());
  auto* node = find(path);
  if (!node) co_return failure(ErrorKind::not_found, remote_name(path), "not found");
  if (node->is_directory) co_return failure(ErrorKind::permanent, remote_name(path), "is a directory");
  co_return std::make_unique<MemoryDownload>(*this, path, offset);
}

asio::awaitable<Result<void>> MemoryTarget::rename_to_new(std::string from, std::string to) {
  if (auto valid = target::check_path(from); !valid) co_return valid;
  if (auto valid = target::check_path(to); !valid) co_return valid;
  auto entered = co_await enter(Op::rename_to_new, from + " -> " + to);
  if (!entered) co_return entered;
  auto* source = find(from);
  if (!source) co_return failure(ErrorKind::not_found, remote_name(from), "not found");
  if (source->is_directory) co_return failure(ErrorKind::permanent, remote_name(from), "is a directory");
  if (auto* destination = find(to)) {
    if (m_options.capabilities.exclusive_rename)
      co_return failure(ErrorKind::already_exists, remote_name(to), "already exists");
    if (destination->is_directory) co_return failure(ErrorKind::permanent, remote_name(to), "is a directory");
  }
  if (auto writable = check_writable(from, 0); !writable) co_return writable;
  if (auto writable = check_writable(to, 0); !writable) co_return writable;
  if (auto made = make_parents(to); !made) co_return made;
  auto moved = std::move(m_store->nodes[from]);
  m_store->nodes.erase(from);
  moved.created = m_store->mutations + 1;
  m_store->nodes[to] = std::move(moved);
  mutated();
  co_return Result<void>{};
}

asio::awaitable<Result<void>> MemoryTarget::remove(std::string path) {
  if (auto valid = target::check_path(path); !valid) co_return valid;
  auto entered = co_await enter(Op::remove, path);
  if (!entered) co_return entered;
  auto* node = find(path);
  if (!node) co_return failure(ErrorKind::not_found, remote_name(path), "not found");
  if (node->is_directory) co_return failure(ErrorKind::permanent, remote_name(path), "cannot remove: is a directory");
  if (auto writable = check_writable(path, 0); !writable) co_return writable;
  m_store->nodes.erase(path);
  mutated();
  co_return Result<void>{};
}

asio::awaitable<Result<void>> MemoryTarget::remove_directory(std::string path) {
  if (auto valid = target::check_path(path); !valid) co_return valid;
  auto entered = co_await enter(Op::remove_directory, path);
  if (!entered) co_return entered;
  auto* node = find(path);
  if (!node) co_return failure(ErrorKind::not_found, remote_name(path), "not found");
  if (!node->is_directory) co_return failure(ErrorKind::permanent, remote_name(path), "not a directory");
  for (const auto& [other, child] : m_store->nodes)
    if (is_inside(other, path)) co_return failure(ErrorKind::permanent, remote_name(path), "directory not empty");
  if (auto writable = check_writable(path, 0); !writable) co_return writable;
  m_store->nodes.erase(path);
  mutated();
  co_return Result<void>{};
}

// Every operation of the store is durable when it returns (a crash here is a SIGKILL, not a power
// cut); this is a call that may fail like any other.
asio::awaitable<Result<void>> MemoryTarget::make_durable() { co_return co_await enter(Op::make_durable, ""); }

asio::awaitable<Result<void>> MemoryTarget::copy(std::string from, std::string to) {
  if (auto valid = target::check_path(from); !valid) co_return valid;
  if (auto valid = target::check_path(to); !valid) co_return valid;
  auto entered = co_await enter(Op::copy, from + " -> " + to);
  if (!entered) co_return entered;
  if (!m_options.capabilities.server_side_copy)
    co_return failure(ErrorKind::unsupported, remote_name(from), "this target cannot copy on the server");
  auto* source = find(from);
  if (!source) co_return failure(ErrorKind::not_found, remote_name(from), "not found");
  if (source->is_directory) co_return failure(ErrorKind::permanent, remote_name(from), "is a directory");
  if (auto* destination = find(to); destination && destination->is_directory)
    co_return failure(ErrorKind::permanent, remote_name(to), "is a directory");
  if (auto writable = check_writable(to, source->content.size()); !writable) co_return writable;
  if (auto made = make_parents(to); !made) co_return made;
  auto content = source->content; // std::map keeps node addresses across inserts
  m_store->nodes[to] = MemoryNode{false, std::move(content), m_store->clock_ns, m_store->mutations + 1};
  mutated();
  co_return Result<void>{};
}

asio::awaitable<Result<std::optional<std::uint64_t>>> MemoryTarget::free_space() {
  auto entered = co_await enter(Op::free_space, "");
  if (!entered) co_return Unexpected(entered.error());
  if (!m_options.capabilities.reports_free_space) co_return std::optional<std::uint64_t>();
  if (!m_store->capacity) co_return std::optional<std::uint64_t>(std::uint64_t(1) << 40);
  auto used = m_store->used_bytes();
  co_return std::optional<std::uint64_t>(used >= *m_store->capacity ? 0 : *m_store->capacity - used);
}

} // namespace offsite::test
