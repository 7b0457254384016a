// sd_notify from libsystemd, opened at the first message, and only when a service manager
// listens ($NOTIFY_SOCKET). Linked, libsystemd brought six more libraries (libgcrypt, liblzma,
// libzstd, liblz4, libcap, libgpg-error) into every run of the command line, loaded from disk by
// a cold `offsite sync` that never notifies anyone. libcurl is opened the same way, for the same
// reason (net/curl_library.hpp). POSIX dlopen: the Windows service wrapper has its own notify.cpp.

#include "service/notify.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include <systemd/sd-daemon.h>

#include "util/log.hpp"

namespace offsite::service {
namespace {

constexpr const char* k_soname = "libsystemd.so.0";

using SdNotify = decltype(&::sd_notify);

SdNotify load() {
  if (!std::getenv("NOTIFY_SOCKET")) return nullptr; // nobody listens: sd_notify would do nothing
  void* handle = ::dlopen(k_soname, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    log::error("systemd.unavailable",
               {{"library", k_soname},
                {"error", why ? why : "dlopen failed"},
                {"note", "the service manager is not told that the service is ready (package libsystemd0)"}});
    return nullptr;
  }
  auto* notify = reinterpret_cast<SdNotify>(::dlsym(handle, "sd_notify"));
  if (!notify) log::error("systemd.unavailable", {{"library", k_soname}, {"error", "no sd_notify in it"}});
  return notify;
}

void send(const char* message) {
  static const SdNotify notify = load(); // once; thread-safe
  if (notify) notify(0, message);
}

} // namespace

void notify_ready() { send("READY=1"); }
void notify_reloading() { send("RELOADING=1"); }
void notify_stopping() { send("STOPPING=1"); }
void notify_status(std::string_view status) {
  std::string line = "STATUS=";
  line += status;
  send(line.c_str());
}

} // namespace offsite::service
