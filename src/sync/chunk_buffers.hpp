#pragma once
// Chunk buffers, kept for the next file instead of freed.
//
// A sync moves gigabytes through a few buffers of chunk_size. Made afresh for each file, a
// buffer was zeroed first (std::vector value-initializes its bytes), and as glibc gives blocks
// this large back to the kernel when they are freed, its pages were faulted in and cleared
// again by the next file: together about 5% of the event loop's time in an SFTP first sync,
// where that one thread is the limit (libssh2 1.10 encrypts on it). Here a buffer is never
// zeroed (every byte a sync sends was read into it first), and a freed one waits in the pool
// for the next file.
//
// Memory: the pool makes a buffer only when none is free, so it never holds more than were in
// use at once, and the transfer's chunk budget (2 x concurrency, uploader.hpp) bounds that. A
// buffer has chunk_size bytes of address space; a small file touches only its own size of them.
//
// Single-threaded: buffers are taken and given back on the event loop's thread (pool threads
// only read into them).

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace offsite::sync {

class ChunkBufferPool;

// One buffer of the pool, `size()` bytes long (at most the pool's chunk size). Goes back to its
// pool when destroyed.
class ChunkBuffer {
public:
  ChunkBuffer() = default;
  ChunkBuffer(ChunkBuffer&& other) noexcept { swap(other); }
  ChunkBuffer& operator=(ChunkBuffer&& other) noexcept {
    ChunkBuffer(std::move(other)).swap(*this);
    return *this;
  }
  ~ChunkBuffer();

  std::span<std::byte> bytes() const { return {m_storage.get(), m_size}; }
  std::size_t size() const { return m_size; }
  std::byte* data() const { return m_storage.get(); }
  // Another length within the same storage; the bytes are not kept meaningful.
  void resize(std::size_t size);

private:
  friend class ChunkBufferPool;
  void swap(ChunkBuffer& other) noexcept {
    std::swap(m_storage, other.m_storage);
    std::swap(m_capacity, other.m_capacity);
    std::swap(m_size, other.m_size);
    std::swap(m_home, other.m_home);
  }

  std::unique_ptr<std::byte[]> m_storage;
  std::size_t m_capacity = 0;
  std::size_t m_size = 0;
  ChunkBufferPool* m_home = nullptr;
};

class ChunkBufferPool {
public:
  explicit ChunkBufferPool(std::size_t chunk_size) : m_chunk_size(chunk_size) {}
  ChunkBufferPool(const ChunkBufferPool&) = delete;
  ChunkBufferPool& operator=(const ChunkBufferPool&) = delete;

  // A buffer of `size` bytes (at most the chunk size), its contents undefined. A buffer must not
  // outlive its pool.
  ChunkBuffer take(std::size_t size);

  std::size_t chunk_size() const { return m_chunk_size; }
  // Buffers made so far, for tests.
  std::size_t made() const { return m_made; }

private:
  friend class ChunkBuffer;
  void give_back(std::unique_ptr<std::byte[]> storage);

  std::size_t m_chunk_size;
  std::vector<std::unique_ptr<std::byte[]>> m_free;
  std::size_t m_made = 0;
};

} // namespace offsite::sync
