#pragma once
// One stop request reaching many coroutines: SIGTERM, SIGINT or the window's end asks a sync to
// stop; every worker spawned with a slot from here is cancelled at its next suspension point,
// and code between steps polls requested(). Single-threaded: use on the event loop only.

#include <list>

#include <asio/cancellation_signal.hpp>
#include <asio/cancellation_type.hpp>

namespace offsite {

class Stopper {
public:
  bool requested() const { return m_requested; }

  void request(asio::cancellation_type type = asio::cancellation_type::terminal) {
    m_requested = true;
    for (auto& signal : m_signals)
      signal.emit(type);
  }

  // A slot cancelled by request(); the signal lives as long as this Stopper.
  asio::cancellation_slot new_slot() { return m_signals.emplace_back().slot(); }

private:
  bool m_requested = false;
  std::list<asio::cancellation_signal> m_signals;
};

} // namespace offsite
