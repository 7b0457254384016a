#include "service/notify.hpp"

#include <string>

#include <systemd/sd-daemon.h>

namespace offsite::service {

void notify_ready() { sd_notify(0, "READY=1"); }
void notify_reloading() { sd_notify(0, "RELOADING=1"); }
void notify_stopping() { sd_notify(0, "STOPPING=1"); }
void notify_status(std::string_view status) {
  std::string line = "STATUS=";
  line += status;
  sd_notify(0, line.c_str());
}

} // namespace offsite::service
