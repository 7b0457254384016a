#include "util/process.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

extern char** environ;

namespace offsite {
namespace {

constexpr std::size_t k_output_cap = 64 * 1024;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

} // namespace

Result<CommandResult> run_command(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::seconds timeout) {
  if (argv.empty()) return make_error(ErrorKind::config, "empty command");
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Unexpected(error_from_errno(errno, "cannot create a pipe"));
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return Unexpected(error_from_errno(errno, "cannot create a pipe"));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The event loop blocks signals it handles; the command starts with none blocked, defaults.
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  int to_child = in_pipe[1], from_child = out_pipe[0];
  if (spawned != 0) {
    close_fd(to_child);
    close_fd(from_child);
    return Unexpected(error_from_errno(spawned, fmt::format("cannot run {}", argv[0])));
  }
  ::fcntl(to_child, F_SETFL, O_NONBLOCK);
  CommandResult result;
  std::size_t written = 0;
  if (input.empty()) close_fd(to_child);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[8192];
  while (from_child >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{from_child, POLLIN, 0}, {to_child, POLLOUT, 0}};
    int count = to_child >= 0 ? 2 : 1;
    if (::poll(fds, static_cast<nfds_t>(count), static_cast<int>(std::min<long>(left.count(), 1000))) < 0 &&
        errno != EINTR)
      break;
    if (count == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(to_child, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) written = input.size(); // the command closed its stdin
      if (written == input.size()) close_fd(to_child);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(from_child, buffer, sizeof(buffer));
      if (n <= 0) {
        close_fd(from_child);
        continue;
      }
      result.output.append(buffer, static_cast<std::size_t>(n));
      if (result.output.size() > k_output_cap) result.output.erase(0, result.output.size() - k_output_cap);
    }
  }
  close_fd(to_child);
  close_fd(from_child);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

namespace {

volatile sig_atomic_t g_foreground_child = 0;

void pass_signal_on(int signal) {
  if (g_foreground_child > 0) ::kill(static_cast<pid_t>(g_foreground_child), signal);
}

} // namespace

int run_foreground(const std::vector<std::string>& argv, int inherit_fd) {
  if (argv.empty()) return -EINVAL;
  // The lock's descriptor must survive exec in the child: drop close-on-exec for the spawn.
  if (inherit_fd >= 0) ::fcntl(inherit_fd, F_SETFD, ::fcntl(inherit_fd, F_GETFD) & ~FD_CLOEXEC);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, args[0], nullptr, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) return -spawned;
  g_foreground_child = pid;
  struct sigaction action {};
  action.sa_handler = pass_signal_on;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP})
    ::sigaction(signal, &action, nullptr);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_foreground_child = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace offsite
