// The transfer's chunk buffers (src/sync/chunk_buffers.hpp): a buffer given back is the next one
// taken, so a sync of many files makes only as many as were in use at once.

#include <boost/test/unit_test.hpp>

#include "sync/chunk_buffers.hpp"

using offsite::sync::ChunkBuffer;
using offsite::sync::ChunkBufferPool;

BOOST_AUTO_TEST_SUITE(sync_chunk_buffers)

BOOST_AUTO_TEST_CASE(a_buffer_given_back_is_taken_again) {
  ChunkBufferPool pool(1024);
  std::byte* first = nullptr;
  {
    auto buffer = pool.take(1024);
    BOOST_TEST(buffer.size() == 1024u);
    first = buffer.data();
    buffer.bytes()[1023] = std::byte{7}; // all of it is ours
  }
  // A thousand files one after another: one buffer.
  for (int file = 0; file < 1000; ++file) {
    auto buffer = pool.take(static_cast<std::size_t>(file % 1024));
    BOOST_TEST(buffer.data() == first);
    BOOST_TEST(buffer.size() == static_cast<std::size_t>(file % 1024));
  }
  BOOST_TEST(pool.made() == 1u);
}

BOOST_AUTO_TEST_CASE(makes_only_as_many_as_are_held_at_once) {
  ChunkBufferPool pool(4096);
  for (int round = 0; round < 50; ++round) {
    // Two files of two buffers each, plus one borrowed part buffer: five at once.
    std::vector<ChunkBuffer> held;
    for (int i = 0; i < 5; ++i)
      held.push_back(pool.take(4096));
    if (round % 2) held.erase(held.begin() + 1); // given back in another order
  }
  BOOST_TEST(pool.made() == 5u);
}

BOOST_AUTO_TEST_CASE(moves_and_resizes_keep_one_owner) {
  ChunkBufferPool pool(64);
  auto front = pool.take(10);
  auto back = pool.take(64);
  auto* front_bytes = front.data();
  auto* back_bytes = back.data();
  std::swap(front, back); // as the uploader alternates them
  BOOST_TEST(front.data() == back_bytes);
  BOOST_TEST(back.data() == front_bytes);
  BOOST_TEST(front.size() == 64u);
  back.resize(64);
  BOOST_TEST(back.size() == 64u);
  ChunkBuffer moved = std::move(front);
  BOOST_TEST(front.data() == nullptr);
  BOOST_TEST(moved.data() == back_bytes);
  moved = ChunkBuffer(); // gives its storage back
  auto again = pool.take(1);
  BOOST_TEST(again.data() == back_bytes);
  BOOST_TEST(pool.made() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
