#include "sync/chunk_buffers.hpp"

#include <cassert>

namespace offsite::sync {

ChunkBuffer::~ChunkBuffer() {
  if (m_home && m_storage) m_home->give_back(std::move(m_storage));
}

void ChunkBuffer::resize(std::size_t size) {
  assert(size <= m_capacity);
  m_size = size;
}

ChunkBuffer ChunkBufferPool::take(std::size_t size) {
  assert(size <= m_chunk_size);
  ChunkBuffer buffer;
  if (!m_free.empty()) {
    buffer.m_storage = std::move(m_free.back());
    m_free.pop_back();
  } else {
    // Default-initialized: not zeroed, and not touched until a read fills it.
    buffer.m_storage = std::unique_ptr<std::byte[]>(new std::byte[m_chunk_size]);
    ++m_made;
  }
  buffer.m_capacity = m_chunk_size;
  buffer.m_size = size;
  buffer.m_home = this;
  return buffer;
}

void ChunkBufferPool::give_back(std::unique_ptr<std::byte[]> storage) { m_free.push_back(std::move(storage)); }

} // namespace offsite::sync
