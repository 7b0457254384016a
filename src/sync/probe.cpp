// The connection test. Each step is one operation a sync relies on, in the order a sync first
// needs it, so the first failing step says what a sync would trip on and where. The probe lives
// in a directory of its own under `.offsite/` (never a mirror path, so a sync never mistakes it
// for another tool's file), and clean-up runs whatever happened before it.

#include "sync/probe.hpp"

#include <span>

#include <fmt/format.h>

#include "sync/remote_layout.hpp"
#include "util/uuid.hpp"

namespace offsite::sync {
namespace {

constexpr std::size_t k_payload_size = 64 * 1024;
// Announced, never sent: large enough to need a multipart upload on S3 (nothing is written).
constexpr std::uint64_t k_large_upload_hint = 256ull << 20;

std::string make_payload(const std::string& id) {
  std::string payload;
  payload.reserve(k_payload_size);
  while (payload.size() < k_payload_size)
    payload += fmt::format("offsite connection probe {} {}\n", id, payload.size());
  payload.resize(k_payload_size);
  return payload;
}

std::span<const std::byte> as_bytes(const std::string& text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

class ProbeRun {
public:
  ProbeRun(target::Target& target, ProbeReport& report) : m_target(target), m_report(report) {
    auto id = generate_uuid();
    m_dir = fmt::format("{}/probe-{}", layout::k_meta, id);
    m_payload = make_payload(id);
  }

  asio::awaitable<void> run(std::optional<std::string> local_id) {
    auto connected = co_await m_target.connect();
    if (!step("connect", "", connected)) {
      skip_rest("the connection failed");
      co_return;
    }
    m_report.capabilities = m_target.capabilities();

    auto compare_with = local_id.value_or("");
    auto id = co_await read_remote_id(m_target, compare_with);
    if (step("read the remote ID", std::string(layout::k_repository_id), id)) m_report.remote_id = *id;

    std::string root;
    auto made = co_await m_target.make_directory(root);
    if (!step("create the folder", root, made)) {
      skip_rest("the folder could not be created");
      co_return;
    }
    std::string meta(layout::k_meta);
    auto meta_before = co_await m_target.stat(meta);
    m_created_meta = !meta_before && meta_before.error().kind == ErrorKind::not_found;

    bool written = co_await write_probe();
    if (written) co_await move_and_read();
    auto large = path("large");
    auto discarded = co_await discard_large_upload(large);
    step("start and discard a large upload", large, discarded);
    co_await clean_up();
    co_await report_free_space();
    if (auto unfinished = co_await m_target.unfinished_uploads(); unfinished)
      m_report.unfinished_uploads = std::move(*unfinished);
  }

private:
  std::string path(std::string_view name) const { return fmt::format("{}/{}", m_dir, name); }

  template <class T> bool step(std::string name, const std::string& remote, const Result<T>& result) {
    auto shown = remote.empty() ? m_target.describe() : m_target.describe() + "/" + remote;
    ProbeStep probe{std::move(name), StepStatus::ok, std::move(shown), ""};
    if (!result) {
      probe.status = StepStatus::failed;
      probe.error = result.error().message;
    }
    m_report.steps.push_back(std::move(probe));
    return result.has_value();
  }

  void skip(std::string name, std::string why) {
    m_report.steps.push_back({std::move(name), StepStatus::skipped, "", std::move(why)});
  }

  void skip_rest(const std::string& why) {
    for (const char* name : {"create and write", "create a file whole", "rename", "read back", "copy",
                             "start and discard a large upload", "delete"})
      skip(name, why);
  }

  Result<void> same_bytes(const Result<std::string>& read, const std::string& remote) const {
    if (!read) return Unexpected(read.error());
    if (*read != m_payload)
      return make_error(ErrorKind::permanent, fmt::format("{}/{}: read back {} bytes that differ from the {} written",
                                                          m_target.describe(), remote, read->size(), m_payload.size()));
    return {};
  }

  // A streaming upload (how file data goes up) and a whole small file (how records go up).
  asio::awaitable<bool> write_probe() {
    auto upload_path = path("upload");
    auto uploaded = co_await upload(upload_path);
    bool ok = step("create and write", upload_path, uploaded);
    auto record_path = path("record");
    auto record_bytes = m_payload;
    auto created = co_await m_target.write_new_file(record_path, record_bytes);
    ok = step("create a file whole", record_path, created) && ok;
    if (!ok) {
      for (const char* name : {"rename", "read back", "copy"})
        skip(name, "writing the probe failed");
    }
    co_return ok;
  }

  asio::awaitable<Result<void>> upload(std::string to) {
    target::UploadOptions options;
    options.expected_size = m_payload.size();
    auto session = co_await m_target.start_upload(to, options);
    if (!session) co_return Unexpected(std::move(session).error());
    auto bytes = as_bytes(m_payload);
    if (auto written = co_await (*session)->write(bytes); !written) {
      co_await (*session)->abort();
      co_return written;
    }
    auto confirmed = co_await (*session)->finish();
    if (!confirmed) co_return Unexpected(std::move(confirmed).error());
    if (*confirmed != m_payload.size())
      co_return make_error(ErrorKind::permanent, fmt::format("{}/{}: the server confirmed {} bytes of {}",
                                                             m_target.describe(), to, *confirmed, m_payload.size()));
    co_return Result<void>{};
  }

  // How a large file's upload begins and how an interrupted one is discarded (on S3: create and
  // abort a multipart upload; remove() aborts it). Nothing of it may remain.
  asio::awaitable<Result<void>> discard_large_upload(std::string to) {
    // First whether discarding works at all: an upload that cannot be discarded is not started.
    if (auto allowed = co_await m_target.discard_unfinished_uploads(to); !allowed) co_return allowed;
    target::UploadOptions options;
    options.expected_size = k_large_upload_hint;
    auto session = co_await m_target.start_upload(to, options);
    if (!session) co_return Unexpected(std::move(session).error());
    co_await (*session)->abort();
    auto removed = co_await m_target.remove(to);
    if (!removed && removed.error().kind != ErrorKind::not_found) co_return removed;
    auto left = co_await m_target.uploaded_size(to, "");
    if (left)
      co_return make_error(ErrorKind::permanent, fmt::format("{}/{}: an upload is still there after it was discarded",
                                                             m_target.describe(), to));
    if (left.error().kind != ErrorKind::not_found) co_return Unexpected(std::move(left).error());
    co_return Result<void>{};
  }

  asio::awaitable<void> move_and_read() {
    auto from = path("upload"), renamed = path("renamed");
    auto moved = co_await m_target.rename_to_new(from, renamed);
    if (!step("rename", renamed, moved)) {
      skip("read back", "the rename failed");
      skip("copy", "the rename failed");
      co_return;
    }
    auto read = co_await m_target.read_file(renamed, m_payload.size() + 1);
    step("read back", renamed, same_bytes(read, renamed));
    if (!m_report.capabilities->server_side_copy) {
      skip("copy", "this target has no server-side copy");
      co_return;
    }
    auto copied_path = path("copied");
    auto copied = co_await m_target.copy(renamed, copied_path);
    if (!copied) {
      step("copy", copied_path, copied);
      co_return;
    }
    auto read_copy = co_await m_target.read_file(copied_path, m_payload.size() + 1);
    step("copy", copied_path, same_bytes(read_copy, copied_path));
  }

  // Always runs: removes every name the probe may have made, then its directory, and `.offsite/`
  // if the probe made it. The step fails if anything of the probe is left.
  asio::awaitable<void> clean_up() {
    Result<void> outcome;
    for (const char* name : {"upload", "record", "renamed", "copied", "large"}) {
      auto file = path(name);
      auto removed = co_await m_target.remove(file);
      if (!removed && removed.error().kind != ErrorKind::not_found && outcome) outcome = removed;
    }
    auto dir = m_dir;
    auto removed_dir = co_await m_target.remove_directory(dir);
    if (!removed_dir && removed_dir.error().kind != ErrorKind::not_found && outcome) outcome = removed_dir;
    auto left = co_await m_target.stat(dir);
    if (left && outcome)
      outcome =
          make_error(ErrorKind::permanent, fmt::format("{}/{}: still there after clean-up", m_target.describe(), dir));
    step("delete", dir, outcome);
    if (m_created_meta) {
      std::string meta(layout::k_meta);
      co_await m_target.remove_directory(meta); // only if empty: a sync may have started meanwhile
    }
  }

  asio::awaitable<void> report_free_space() {
    if (!m_report.capabilities->reports_free_space) co_return;
    auto space = co_await m_target.free_space();
    if (step("free space", "", space)) m_report.free_space = *space;
  }

  target::Target& m_target;
  ProbeReport& m_report;
  std::string m_dir; // ".offsite/probe-<uuid>"
  std::string m_payload;
  bool m_created_meta = false;
};

} // namespace

std::string_view to_string(StepStatus status) {
  switch (status) {
  case StepStatus::ok: return "ok";
  case StepStatus::failed: return "failed";
  case StepStatus::skipped: return "skipped";
  }
  return "?";
}

bool ProbeReport::steps_ok() const {
  for (const auto& step : steps)
    if (step.status == StepStatus::failed) return false;
  return !steps.empty();
}

asio::awaitable<ProbeReport> probe_target(target::Target& target, std::optional<std::string> local_id) {
  ProbeReport report;
  report.target = target.describe();
  ProbeRun run(target, report);
  co_await run.run(std::move(local_id));
  co_return report;
}

} // namespace offsite::sync
