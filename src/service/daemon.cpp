// The service loop.
//
// Each repository has its own coroutine (STYLE §6): for (;;) { wait for the window; sync; record
// the result; }. A failed sync is tried again inside its window after 5, 15 and 45 minutes; a
// window in which a sync succeeded is done, and that survives a restart (window-done in the
// repository's state directory). A sync that cannot take the repository before the window ends
// is abandoned until the next window. With stop_at_window_end, a sync still running at the end is
// stopped cleanly: what it committed stays, the rest resumes next time.
//
// Signals arrive on the one event loop thread. SIGHUP reloads: the new file is validated whole and
// a bad one is reported and ignored; running syncs keep the configuration they started with,
// waiting repositories pick up the new one at once, removed ones finish any running sync and end.
// SIGTERM and SIGINT ask every running sync to stop (its Stopper), which leaves every remote
// consistent, and the process exits when the loops have ended (bounded: uploads stop at their next
// chunk, commits are short).

#include "service/daemon.hpp"

#include <csignal>
#include <cstdlib>
#include <map>
#include <memory>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "config/load.hpp"
#include "manifest/manifest.hpp"
#include "service/notify.hpp"
#include "service/reporting.hpp"
#include "service/scheduler.hpp"
#include "sync/progress.hpp"
#include "sync/result.hpp"
#include "sync/sync.hpp"
#include "target/factory.hpp"
#include "target/target.hpp"
#include "util/background_task.hpp"
#include "util/file_lock.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/offload.hpp"
#include "util/process.hpp"

namespace offsite::service {

std::chrono::seconds retry_delay(int attempt) {
  static const long unit = [] {
    const char* text = std::getenv("OFFSITE_TEST_RETRY_SECONDS");
    return text && *text ? std::max(1L, std::atol(text)) : 300L;
  }();
  static constexpr long k_factors[] = {1, 3, 9};
  return std::chrono::seconds(unit * k_factors[std::min(attempt, 2)]);
}

namespace {

struct RepositoryLoop {
  std::shared_ptr<const config::Repository> repository; // replaced on reload
  std::unique_ptr<asio::steady_timer> wakeup;
  Stopper* running_sync = nullptr; // set while a sync runs
  bool retired = false;
  BackgroundTask task;
};

class Daemon {
public:
  Daemon(std::filesystem::path config_path, config::Config config)
      : m_pool(4), m_signals(m_io, SIGHUP, SIGTERM, SIGINT), m_config_path(std::move(config_path)),
        m_config(std::make_shared<const config::Config>(std::move(config))) {}

  int run() {
    asio::co_spawn(
        m_io, [this] { return main(); },
        [](std::exception_ptr failure) {
          if (failure) std::rethrow_exception(failure);
        });
    m_io.run();
    m_pool.join();
    return 0;
  }

private:
  asio::awaitable<void> main() {
    for (const auto& repository : m_config->repositories)
      start_loop(repository);
    notify_ready();
    notify_status(fmt::format("{} repositories scheduled", m_config->repositories.size()));
    log::info("service.started", {{"config", m_config_path.string()},
                                  {"repositories", static_cast<std::uint64_t>(m_config->repositories.size())}});
    for (;;) {
      auto [error, signal] = co_await m_signals.async_wait(target::use_nothrow);
      if (error) break;
      if (signal == SIGHUP) {
        reload();
        continue;
      }
      log::info("service.stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
    notify_stopping();
    m_stopping = true;
    for (auto& [name, loop] : m_loops) {
      if (loop->running_sync) loop->running_sync->request();
      loop->wakeup->cancel();
    }
    for (auto& [name, loop] : m_loops)
      co_await loop->task.wait();
    log::info("service.stopped");
  }

  void start_loop(const config::Repository& repository) {
    auto loop = std::make_unique<RepositoryLoop>();
    loop->repository = std::make_shared<const config::Repository>(repository);
    loop->wakeup = std::make_unique<asio::steady_timer>(m_io);
    auto* raw = loop.get();
    m_loops[repository.name] = std::move(loop);
    raw->task.start(m_io.get_executor(), [this, raw] { return repository_loop(*raw); });
  }

  void reload() {
    notify_reloading();
    auto loaded = config::load_config_file(m_config_path);
    for (const auto& warning : loaded.warnings)
      log::warning("config.warning", {{"problem", warning.to_string()}});
    if (!loaded.ok()) {
      for (const auto& problem : loaded.errors)
        log::error("config.reload_rejected", {{"problem", problem.to_string()}});
      log::error("config.reload_failed",
                 {{"config", m_config_path.string()}, {"action", "the running configuration stays in force"}});
      notify_ready();
      return;
    }
    m_config = std::make_shared<const config::Config>(std::move(*loaded.config));
    log::set_level(m_config->service.log_level);
    for (auto& [name, loop] : m_loops) {
      auto it = std::find_if(m_config->repositories.begin(), m_config->repositories.end(),
                             [&](const config::Repository& r) { return r.name == name; });
      if (it == m_config->repositories.end())
        loop->retired = true;
      else
        loop->repository = std::make_shared<const config::Repository>(*it);
      loop->wakeup->cancel(); // re-read the schedule now
    }
    for (const auto& repository : m_config->repositories)
      if (!m_loops.count(repository.name)) start_loop(repository);
    log::info("config.reloaded", {{"repositories", static_cast<std::uint64_t>(m_config->repositories.size())}});
    notify_ready();
  }

  // Sleeps until `when` (re-checking the wall clock every minute); false if woken early.
  asio::awaitable<bool> wait_until(RepositoryLoop& loop, Clock::time_point when) {
    while (!m_stopping && !loop.retired) {
      auto left = when - Clock::now();
      if (left <= Clock::duration::zero()) co_return true;
      loop.wakeup->expires_after(std::min<Clock::duration>(left, std::chrono::minutes(1)));
      auto [error] = co_await loop.wakeup->async_wait(target::use_nothrow);
      if (error) co_return false;
    }
    co_return false;
  }

  asio::awaitable<void> repository_loop(RepositoryLoop& loop) {
    while (!m_stopping && !loop.retired) {
      auto repository = loop.repository;
      auto state = sync::repository_state_dir(m_config->service.state_dir, repository->name);
      auto window = current_or_next_window(repository->window, repository->days, Clock::now());
      if (!window) {
        write_service_state(state, "no window scheduled", std::nullopt);
        co_await wait_until(loop, Clock::now() + std::chrono::hours(24));
        continue;
      }
      if (window_done(state, *window)) {
        write_service_state(state, "idle", next_after(*repository, *window));
        co_await wait_until(loop, window->end);
        continue;
      }
      if (Clock::now() < window->start) {
        write_service_state(state, "waiting for the window", window);
        if (!co_await wait_until(loop, window->start)) continue; // reloaded or stopping: re-plan
      }
      for (int attempt = 0; !m_stopping && !loop.retired; ++attempt) {
        auto result = co_await attempt_sync(loop, loop.repository, *window);
        if (result.outcome == sync::Outcome::success) {
          fs::write_file_atomically(state / "window-done", manifest::format_timestamp(window->start) + "\n", 0640);
          break;
        }
        if (result.outcome != sync::Outcome::failed) break;
        auto retry_at = Clock::now() + retry_delay(attempt);
        if (retry_at >= window->end) break;
        log::info("sync.retry_scheduled",
                  {{"repository", repository->name}, {"at", manifest::format_timestamp(retry_at)}});
        write_service_state(state, "waiting to retry", window);
        // A reload wakes the wait; the retry still waits its full delay.
        while (!m_stopping && !loop.retired && Clock::now() < retry_at)
          co_await wait_until(loop, retry_at);
      }
      if (m_stopping || loop.retired) break;
      write_service_state(state, "idle", next_after(*loop.repository, *window));
      co_await wait_until(loop, window->end); // one sync per window
    }
  }

  static bool window_done(const std::filesystem::path& state, const WindowInstance& window) {
    auto done = fs::read_file(state / "window-done", 128);
    return done && *done == manifest::format_timestamp(window.start) + "\n";
  }

  static std::optional<WindowInstance> next_after(const config::Repository& repository, const WindowInstance& window) {
    return current_or_next_window(repository.window, repository.days, window.end);
  }

  // One attempt: pre command, sync lock, the sync, post command, the result and its reports.
  asio::awaitable<sync::SyncResult>
  attempt_sync(RepositoryLoop& loop, std::shared_ptr<const config::Repository> repository, WindowInstance window) {
    auto config = m_config;
    auto state = sync::repository_state_dir(config->service.state_dir, repository->name);
    fs::create_directories(state, 0750);
    write_service_state(state, "syncing", window);
    sync::SyncResult result;
    result.repository = repository->name;
    result.started = manifest::format_timestamp(Clock::now());

    bool pre_ran = false;
    if (!repository->pre_sync_command.empty()) {
      auto argv = repository->pre_sync_command;
      auto runner = [argv] { return run_command(argv, "", std::chrono::seconds(3600)); };
      auto ran = co_await offload(m_pool, std::move(runner));
      if (!ran || ran->exit_status != 0) {
        result.outcome = sync::Outcome::failed;
        result.error = Error{ErrorKind::permanent,
                             ran ? fmt::format("pre_sync_command exited with {}: {}", ran->exit_status, ran->output)
                                 : ran.error().message};
        co_return co_await finish(*config, *repository, std::move(result), false);
      }
      pre_ran = true;
    }
    result = co_await locked_sync(loop, *config, *repository, window);
    co_return co_await finish(*config, *repository, std::move(result), pre_ran || repository->pre_sync_command.empty());
  }

  asio::awaitable<sync::SyncResult> locked_sync(RepositoryLoop& loop, const config::Config& config,
                                                const config::Repository& repository, WindowInstance window) {
    sync::SyncResult result;
    result.repository = repository.name;
    result.started = manifest::format_timestamp(Clock::now());
    auto state = sync::repository_state_dir(config.service.state_dir, repository.name);
    auto lock = FileLock::open(state / "sync.lock");
    if (!lock) {
      result.outcome = sync::Outcome::failed;
      result.error = lock.error();
      co_return result;
    }
    // A Run Now holds it: wait, but not past the window.
    auto locked = co_await lock->lock(LockMode::exclusive, std::chrono::milliseconds(500), window.end);
    if (!locked) {
      result.outcome = locked.error().kind == ErrorKind::cancelled ? sync::Outcome::abandoned : sync::Outcome::failed;
      result.error = Error{locked.error().kind, "another sync of this repository held it until the window ended"};
      co_return result;
    }
    auto built = target::make_target(repository, m_pool, state);
    if (!built) {
      result.outcome = sync::Outcome::failed;
      result.error = built.error();
      co_return result;
    }
    Stopper stopper;
    loop.running_sync = &stopper;
    BackgroundTask window_end;
    if (repository.stop_at_window_end) {
      // Its own timer: the loop's is woken by every reload, which must not lose the window's end.
      auto stop_at_end = [this, &loop, &stopper, end = window.end]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        while (!m_stopping && Clock::now() < end) {
          timer.expires_after(std::min<Clock::duration>(end - Clock::now(), std::chrono::minutes(1)));
          co_await timer.async_wait(asio::use_awaitable); // throws when stopped: the sync ended
        }
        if (Clock::now() >= end) {
          log::info("sync.window_end", {{"repository", loop.repository->name}});
          stopper.request();
        }
      };
      window_end.start(m_io.get_executor(), std::move(stop_at_end));
    }
    sync::SyncProgress progress;
    BackgroundTask reporter;
    auto progress_file = state / "progress.json";
    auto report = [&progress, name = repository.name, progress_file] {
      return sync::report_progress(progress, name, progress_file, false);
    };
    reporter.start(m_io.get_executor(), std::move(report));
    sync::SyncContext context{*built->target, m_pool, stopper, progress, built->retry_policy, "offsite run"};
    sync::SyncRequest request;
    request.start_by = window.end;
    result = co_await sync::run_sync(context, repository, config.service, request);
    loop.running_sync = nullptr;
    co_await reporter.stop();
    co_await window_end.stop();
    std::error_code ignored;
    std::filesystem::remove(progress_file, ignored);
    co_return result;
  }

  asio::awaitable<sync::SyncResult> finish(const config::Config& config, const config::Repository& repository,
                                           sync::SyncResult result, bool run_post) {
    if (result.finished.empty()) result.finished = manifest::format_timestamp(Clock::now());
    auto state = sync::repository_state_dir(config.service.state_dir, repository.name);
    if (auto stored = sync::store_result(state, result); !stored)
      log::warning("result.store_failed", {{"error", stored.error().message}});
    if (result.outcome == sync::Outcome::success)
      fs::write_file_atomically(state / "last-success", result.finished + "\n", 0640);
    auto level = result.outcome == sync::Outcome::success ? log::Level::info : log::Level::error;
    log::write(level, "sync.finished",
               {{"repository", repository.name},
                {"outcome", std::string(sync::to_string(result.outcome))},
                {"bytes_uploaded", result.bytes_uploaded},
                {"files_uploaded", result.files_uploaded.count()},
                {"generation", result.generation},
                {"error", result.error ? result.error->message : ""}});
    auto json = sync::result_to_json(result) + "\n";
    auto post = repository.post_sync_command;
    auto service_config = config.service;
    auto reports = [&config, result, json, post, run_post, service_config] {
      if (run_post && !post.empty()) {
        auto ran = run_command(post, json, std::chrono::seconds(3600));
        if (!ran || ran->exit_status != 0)
          log::warning(
              "post_sync_command.failed",
              {{"repository", result.repository},
               {"error", ran ? fmt::format("exit {}: {}", ran->exit_status, ran->output) : ran.error().message}});
      }
      write_metrics(config);
      run_on_failure(service_config, result);
    };
    co_await offload(m_pool, std::move(reports));
    co_return result;
  }

  asio::io_context m_io;
  asio::thread_pool m_pool;
  asio::signal_set m_signals;
  std::filesystem::path m_config_path;
  std::shared_ptr<const config::Config> m_config;
  std::map<std::string, std::unique_ptr<RepositoryLoop>> m_loops;
  bool m_stopping = false;
};

} // namespace

int run_daemon(std::filesystem::path config_path, config::Config config) {
  log::set_level(config.service.log_level);
  Daemon daemon(std::move(config_path), std::move(config));
  return daemon.run();
}

} // namespace offsite::service
