#pragma once
// Work that is a list of independent steps (manifests to read, files to move into place) runs in
// four lanes on the event loop: each lane takes the next step from a shared cursor until none is
// left, so four remote round trips (or disk operations on the pool) are in flight at once.

#include <asio/awaitable.hpp>
#include <asio/experimental/awaitable_operators.hpp>

namespace offsite::sync {

inline constexpr int k_lanes = 4;

// Runs four coroutines made by `make_lane()` at once and waits for all of them. A lane reports
// failures through the state it shares with the others (and stops them taking more steps); an
// exception (a cancellation) in one cancels the others and propagates.
template <class MakeLane> asio::awaitable<void> run_in_lanes(MakeLane make_lane) {
  using namespace asio::experimental::awaitable_operators;
  static_assert(k_lanes == 4, "the lanes below");
  auto lane_1 = make_lane();
  auto lane_2 = make_lane();
  auto lane_3 = make_lane();
  auto lane_4 = make_lane();
  co_await (std::move(lane_1) && std::move(lane_2) && std::move(lane_3) && std::move(lane_4));
}

} // namespace offsite::sync
