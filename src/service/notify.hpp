#pragma once
// Telling the service manager what the service does (systemd's sd_notify: READY=1, RELOADING=1,
// STOPPING=1, STATUS=…). A no-op outside systemd. A Windows service wrapper would report the same
// states to the SCM through its own notify.cpp.

#include <string_view>

namespace offsite::service {

void notify_ready();
void notify_reloading();
void notify_stopping();
void notify_status(std::string_view status);

} // namespace offsite::service
