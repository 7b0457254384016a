// Uploads to S3: one PutObject for what fits in one part, else a multipart upload; and how an
// interrupted multipart upload is continued.
//
// Parts. The part size is the engine's chunk_size, or a multiple of it when a file would need
// more than 10,000 parts (part_size_for). The engine writes chunk_size spans from its own two
// buffers, so a part is normally exactly one write: it is hashed once on the pool (SHA-256, which
// signs the request and which S3 checks against the bytes it received) and sent straight from the
// engine's buffer, and write() returns when S3 confirmed it. Small bodies carry Content-MD5 too,
// and the ETag returned for them is compared with it.
// Writes that do not line up with parts (a multiple-chunk part, a caller with other sizes) are
// gathered in one part buffer of the session's own.
//
// Parts in flight. When its parts are exactly the engine's chunks, a session takes several parts
// at once through write_at(): a part's number follows from its offset, so parts may be confirmed
// in any order, and the list handed to CompleteMultipartUpload is sorted. The engine decides how
// many are in flight from its buffer budget (2 x concurrency x chunk_size for all files
// together), so one large file alone still keeps every connection busy.
//
// Resuming. S3 keeps the confirmed parts of an unfinished upload under its key until it is
// completed or aborted. uploaded_size(path, token) finds the upload by its ID, or, when a run
// died before the ID reached anyone (the journal is written before uploads start), by its key
// through ListMultipartUploads; ListParts gives the parts confirmed, contiguous from part 1. The
// confirmed size offered is the largest part boundary that is a multiple of chunk_size, so the
// engine resumes exactly there and start_upload() continues the same upload with the next part
// number. When the upload is gone but a complete object sits at the key (its completion answer
// was lost), the object's size is offered, and start_upload() begins a new upload whose first
// parts are copied from that object on the server (UploadPartCopy), then continues. When the
// answer to CompleteMultipartUpload is lost and the request, sent again, finds no upload, the
// object's multipart ETag (computed from our parts' ETags) says whether it was our completion.

#include "target/s3.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

#include "net/s3_sign.hpp"
#include "util/hash128.hpp"
#include "util/offload.hpp"

namespace offsite::target {
namespace {

constexpr int k_max_parts = 10000;
constexpr std::size_t k_hash_inline_below = 256u << 10;

// The SHA-256 a part is signed with (S3 recomputes it and refuses a mismatch), on the pool.
// Small bodies also get Content-MD5; large ones do not: the signed SHA-256 already proves every
// byte, and MD5, the slowest hash here, would double the CPU each part costs us.
asio::awaitable<net::Payload> digest(asio::thread_pool& pool, std::span<const std::byte> bytes) {
  if (bytes.size() < k_hash_inline_below) co_return net::digest_payload(bytes);
  auto sha = [bytes] { return net::sha256_hex(bytes); };
  auto pending = offload(pool, std::move(sha));
  net::Payload payload;
  payload.bytes = bytes;
  payload.sha256_hex = co_await std::move(pending);
  co_return payload;
}

// The ETag S3 gives an object completed from `parts`: the MD5 of their MD5s, "-", their count.
// "" when a part's ETag is no MD5 (as with SSE-KMS), which then matches nothing.
std::string multipart_etag(const std::vector<net::CompletedPart>& parts) {
  std::string raw; // the parts' MD5s, 16 bytes each
  for (const auto& part : parts) {
    auto md5 = Hash128::from_hex(part.etag); // any 32 hex digits, high half first
    if (!md5) return "";
    for (std::uint64_t half : {md5->high, md5->low})
      for (int shift = 56; shift >= 0; shift -= 8)
        raw.push_back(static_cast<char>(half >> shift));
  }
  auto md5 = net::md5_raw(std::as_bytes(std::span(raw.data(), raw.size())));
  return fmt::format("{}-{}", net::to_hex(md5), parts.size());
}

bool same_etag(std::string_view a, std::string_view b) {
  return !b.empty() && a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

std::vector<net::CompletedPart> contiguous(std::vector<net::UploadedPart> parts) {
  std::sort(parts.begin(), parts.end(), [](auto& a, auto& b) { return a.number < b.number; });
  std::vector<net::CompletedPart> out;
  for (auto& part : parts) {
    if (part.number != static_cast<int>(out.size()) + 1) break;
    out.push_back(net::CompletedPart{part.number, part.size, std::move(part.etag)});
  }
  return out;
}

class S3Upload final : public Upload {
public:
  S3Upload(S3Target& target, std::string path, std::uint64_t start, std::uint64_t expected, std::string upload_id,
           std::vector<net::CompletedPart> parts)
      : m_target(target), m_path(std::move(path)), m_key(target.key(m_path)), m_where(target.where(m_path)),
        m_start(start), m_position(start), m_expected(expected), m_upload_id(std::move(upload_id)),
        m_parts(std::move(parts)), m_first_number(static_cast<int>(m_parts.size()) + 1) {
    m_part_size = part_size_for(target.chunk_size(), start, expected, m_first_number);
  }

  int max_parallel_writes(std::uint64_t part_size) const override {
    // Parallel parts need the upload ID already (start_upload creates it for a multipart file).
    if (m_upload_id.empty() || part_size != m_part_size || !m_buffer.empty()) return 1;
    return std::max(1, m_target.max_connections());
  }

  asio::awaitable<Result<void>> write_at(std::uint64_t offset, std::span<const std::byte> bytes) override {
    if (m_closed) co_return make_error(ErrorKind::permanent, fmt::format("{}: upload closed", m_where));
    bool aligned = offset >= m_start && (offset - m_start) % m_part_size == 0 && !bytes.empty() &&
                   (bytes.size() == m_part_size || (bytes.size() < m_part_size && offset + bytes.size() == m_expected));
    if (m_upload_id.empty() || !m_buffer.empty() || !aligned)
      co_return fail(Error{ErrorKind::permanent, fmt::format("{}: a part of {} bytes at byte {} is not a whole part "
                                                             "of {} bytes",
                                                             m_where, bytes.size(), offset, m_part_size)});
    auto number = static_cast<std::uint64_t>(m_first_number) + (offset - m_start) / m_part_size;
    if (number > static_cast<std::uint64_t>(k_max_parts))
      co_return fail(Error{ErrorKind::permanent, fmt::format("{}: more than {} parts", m_where, k_max_parts)});
    auto payload = co_await digest(m_target.pool(), bytes);
    auto part = co_await m_target.client().upload_part(m_key, m_upload_id, static_cast<int>(number), payload, m_where);
    if (!part) co_return fail(std::move(part).error());
    // Kept in part order whatever order the answers came in: complete() sends them as they are.
    auto later = std::upper_bound(m_parts.begin(), m_parts.end(), part->number,
                                  [](int n, const net::CompletedPart& p) { return n < p.number; });
    m_parts.insert(later, std::move(*part));
    m_position += bytes.size();
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> write(std::span<const std::byte> bytes) override {
    if (m_closed) co_return make_error(ErrorKind::permanent, fmt::format("{}: upload closed", m_where));
    while (!bytes.empty()) {
      bool ends_file = m_expected != 0 && m_position + m_buffer.size() + bytes.size() == m_expected;
      if (m_buffer.empty() && (bytes.size() >= m_part_size || ends_file)) {
        // The common case: a whole part, or the file's last bytes, sent from the caller's buffer.
        auto piece = bytes.first(std::min<std::size_t>(bytes.size(), m_part_size));
        bool last = ends_file && piece.size() == bytes.size();
        auto sent = co_await send(piece, last);
        if (!sent) co_return fail(std::move(sent).error());
        bytes = bytes.subspan(piece.size());
        continue;
      }
      auto take = std::min<std::size_t>(bytes.size(), m_part_size - m_buffer.size());
      m_buffer.insert(m_buffer.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
      bytes = bytes.subspan(take);
      if (m_buffer.size() == m_part_size) {
        auto sent = co_await send(m_buffer, false);
        if (!sent) co_return fail(std::move(sent).error());
        m_buffer.clear();
      }
    }
    co_return Result<void>{};
  }

  asio::awaitable<Result<std::uint64_t>> finish() override {
    if (m_closed) co_return make_error(ErrorKind::permanent, fmt::format("{}: upload closed", m_where));
    if (!m_finished_by_put) {
      if (m_upload_id.empty() && m_parts.empty()) {
        auto sent = co_await send(m_buffer, true); // the whole file in one PutObject (maybe empty)
        if (!sent) co_return Unexpected(fail(std::move(sent).error()).error());
      } else {
        if (!m_buffer.empty() || m_parts.empty()) {
          auto sent = co_await send(m_buffer, true);
          if (!sent) co_return Unexpected(fail(std::move(sent).error()).error());
        }
        auto completed = co_await complete();
        if (!completed) co_return Unexpected(fail(std::move(completed).error()).error());
      }
    }
    m_buffer.clear();
    m_closed = true;
    co_return m_position;
  }

  asio::awaitable<Result<void>> abort() override {
    // What S3 confirmed stays, to be continued (uploaded_size) or discarded (remove).
    m_closed = true;
    m_buffer.clear();
    m_buffer.shrink_to_fit();
    co_return Result<void>{};
  }

  std::string resume_token() const override { return m_upload_id; }

private:
  Unexpected<Error> fail(Error error) {
    m_closed = true; // a session breaks at its first error (target.hpp)
    return Unexpected(std::move(error));
  }

  // Sends `bytes` as the next part, or as the whole object when it is all there is.
  asio::awaitable<Result<void>> send(std::span<const std::byte> bytes, bool last) {
    auto payload = co_await digest(m_target.pool(), bytes);
    if (last && m_upload_id.empty() && m_parts.empty()) {
      auto put = co_await m_target.client().put(m_key, payload, m_where);
      if (!put) co_return put;
      m_position += bytes.size();
      m_finished_by_put = true;
      co_return Result<void>{};
    }
    if (m_upload_id.empty()) {
      auto created = co_await m_target.client().create_upload(m_key, m_where);
      if (!created) co_return Unexpected(std::move(created).error());
      m_upload_id = std::move(*created);
    }
    auto number = static_cast<int>(m_parts.size()) + 1;
    if (number > k_max_parts)
      co_return make_error(ErrorKind::permanent, fmt::format("{}: more than {} parts", m_where, k_max_parts));
    auto part = co_await m_target.client().upload_part(m_key, m_upload_id, number, payload, m_where);
    if (!part) co_return Unexpected(std::move(part).error());
    m_parts.push_back(std::move(*part));
    m_position += bytes.size();
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> complete() {
    for (std::size_t i = 0; i < m_parts.size(); ++i)
      if (m_parts[i].number != static_cast<int>(i) + 1)
        co_return make_error(ErrorKind::permanent, fmt::format("{}: part {} is missing", m_where, i + 1));
    auto completed = co_await m_target.client().complete_upload(m_key, m_upload_id, m_parts, m_where);
    if (!completed) {
      if (completed.error().kind != ErrorKind::not_found) co_return completed;
      // NoSuchUpload: aborted, or completed by an earlier attempt of this same request whose
      // answer was lost (the client sent it again). The object at the key tells which: its ETag
      // is the MD5 of our parts' MD5s when it is ours.
      auto info = co_await m_target.client().head(m_key, m_where);
      if (!info || !same_etag(info->etag, multipart_etag(m_parts))) co_return completed;
    }
    // The object's size as the server now has it: what the engine compares with what it sent.
    auto info = co_await m_target.client().head(m_key, m_where);
    if (!info) co_return Unexpected(std::move(info).error());
    if (info->size != m_position)
      co_return make_error(ErrorKind::transient, fmt::format("{}: the server holds {} bytes after completing the "
                                                             "upload, {} were sent",
                                                             m_where, info->size, m_position));
    co_return Result<void>{};
  }

  S3Target& m_target;
  std::string m_path, m_key, m_where;
  std::uint64_t m_start;    // where this session began
  std::uint64_t m_position; // start + the bytes S3 confirmed in this session
  std::uint64_t m_expected;
  std::uint64_t m_part_size = 0;
  std::string m_upload_id;
  std::vector<net::CompletedPart> m_parts; // confirmed, in part order
  int m_first_number;                      // of the first part this session sends
  std::vector<std::byte> m_buffer;
  bool m_closed = false;
  bool m_finished_by_put = false;
};

// Sequential reads through ranged GETs of at least k_window bytes, served from one buffer.
class S3Download final : public Download {
public:
  static constexpr std::uint64_t k_window = 4u << 20;

  S3Download(S3Target& target, std::string path, std::uint64_t size, std::uint64_t offset)
      : m_target(target), m_key(target.key(path)), m_where(target.where(path)), m_size(size), m_position(offset) {}

  asio::awaitable<Result<std::size_t>> read(std::span<std::byte> bytes) override {
    if (m_position >= m_size || bytes.empty()) co_return std::size_t{0};
    if (m_buffered.size() == m_used) {
      auto want = std::max<std::uint64_t>(bytes.size(), k_window);
      auto last = std::min(m_size, m_position + want) - 1;
      auto got = co_await m_target.client().get_range(m_key, m_position, last, m_where);
      if (!got) co_return Unexpected(std::move(got).error());
      if (got->empty())
        co_return make_error(ErrorKind::transient,
                             fmt::format("{}: the object ended at byte {}, {} expected", m_where, m_position, m_size));
      m_buffered = std::move(*got);
      m_used = 0;
    }
    auto n = std::min(bytes.size(), m_buffered.size() - m_used);
    std::memcpy(bytes.data(), m_buffered.data() + m_used, n);
    m_used += n;
    m_position += n;
    co_return n;
  }

private:
  S3Target& m_target;
  std::string m_key, m_where;
  std::uint64_t m_size;
  std::uint64_t m_position;
  std::string m_buffered;
  std::size_t m_used = 0;
};

} // namespace

std::uint64_t part_size_for(std::uint64_t chunk, std::uint64_t start, std::uint64_t size, int first_part) {
  std::uint64_t left_parts = static_cast<std::uint64_t>(std::max(1, k_max_parts - first_part + 1));
  std::uint64_t rest = size > start ? size - start : 0;
  std::uint64_t needed = (rest + left_parts - 1) / left_parts;
  return std::max<std::uint64_t>(1, (needed + chunk - 1) / chunk) * chunk;
}

asio::awaitable<Result<std::optional<S3Target::Found>>> S3Target::find_upload(std::string path, std::string token) {
  auto object_key = key(path);
  if (token.empty()) {
    auto uploads = co_await m_client.list_uploads(object_key, where(path));
    if (!uploads) co_return Unexpected(std::move(uploads).error());
    // Oldest first: the newest is the one to continue; older ones of the same key are garbage.
    for (const auto& upload : *uploads) {
      if (upload.key != object_key) continue;
      if (!token.empty()) co_await m_client.abort_upload(object_key, token, where(path));
      token = upload.upload_id;
    }
    if (token.empty()) co_return std::optional<Found>();
  }
  auto parts = co_await m_client.list_parts(object_key, token, where(path));
  if (!parts) {
    if (parts.error().kind == ErrorKind::not_found) co_return std::optional<Found>();
    co_return Unexpected(std::move(parts).error());
  }
  co_return std::optional<Found>(Found{token, contiguous(std::move(*parts))});
}

asio::awaitable<Result<std::uint64_t>> S3Target::uploaded_size(std::string path, std::string resume_token) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  auto found = co_await find_upload(path, resume_token);
  if (!found) co_return Unexpected(std::move(found).error());
  if (*found) {
    std::uint64_t at = 0, usable = 0;
    for (const auto& part : (*found)->parts) {
      at += part.size;
      if (at % m_options.chunk_size == 0) usable = at;
    }
    m_found[path] = std::move(**found);
    co_return usable;
  }
  m_found.erase(path);
  auto info = co_await m_client.head(key(path), where(path));
  if (!info) {
    if (info.error().kind == ErrorKind::not_found)
      co_return make_error(ErrorKind::not_found, fmt::format("{}: no upload found", where(path)));
    co_return Unexpected(std::move(info).error());
  }
  co_return info->size; // complete: continued, if asked, by copying its bytes (see start_upload)
}

asio::awaitable<Result<std::unique_ptr<Upload>>> S3Target::start_upload(std::string path, UploadOptions options) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  if (path.empty()) co_return make_error(ErrorKind::permanent, "start_upload: the root is not a file");
  auto object_key = key(path);
  std::optional<Found> found;
  if (auto cached = m_found.find(path);
      cached != m_found.end() && (options.resume_token.empty() || options.resume_token == cached->second.upload_id)) {
    found = std::move(cached->second);
    m_found.erase(cached);
  } else if (!options.resume_token.empty() || options.offset > 0) {
    auto looked = co_await find_upload(path, options.resume_token);
    if (!looked) co_return Unexpected(std::move(looked).error());
    found = std::move(*looked);
  }

  if (options.offset == 0) {
    if (found) co_await m_client.abort_upload(object_key, found->upload_id, where(path)); // starting over
    std::string upload_id;
    // Created now when the file needs parts, so resume_token() names it from the start.
    if (options.expected_size > part_size_for(m_options.chunk_size, 0, options.expected_size, 1)) {
      auto created = co_await m_client.create_upload(object_key, where(path));
      if (!created) co_return Unexpected(std::move(created).error());
      upload_id = std::move(*created);
    }
    co_return std::make_unique<S3Upload>(*this, path, 0, options.expected_size, std::move(upload_id),
                                         std::vector<net::CompletedPart>());
  }

  auto cannot_resume = [&](std::uint64_t confirmed) {
    return make_error(ErrorKind::permanent, fmt::format("{}: cannot resume at byte {}: only {} bytes uploaded",
                                                        where(path), options.offset, confirmed));
  };
  if (found) {
    std::uint64_t at = 0;
    std::size_t keep = 0;
    while (keep < found->parts.size() && at < options.offset)
      at += found->parts[keep++].size;
    if (at != options.offset) co_return cannot_resume(at < options.offset ? at : 0);
    found->parts.resize(keep);
    co_return std::make_unique<S3Upload>(*this, path, options.offset, options.expected_size,
                                         std::move(found->upload_id), std::move(found->parts));
  }

  // No unfinished upload: a complete object whose first `offset` bytes are copied server-side.
  auto info = co_await m_client.head(object_key, where(path));
  if (!info) {
    if (info.error().kind == ErrorKind::not_found) co_return cannot_resume(0);
    co_return Unexpected(std::move(info).error());
  }
  if (info->size < options.offset) co_return cannot_resume(info->size);
  auto upload_id = co_await m_client.create_upload(object_key, where(path));
  if (!upload_id) co_return Unexpected(std::move(upload_id).error());
  std::uint64_t pieces = (options.offset + m_options.copy_part_size - 1) / m_options.copy_part_size;
  std::uint64_t piece = (options.offset + pieces - 1) / pieces;
  std::vector<net::CompletedPart> parts;
  for (std::uint64_t first = 0; first < options.offset; first += piece) {
    auto last = std::min(options.offset, first + piece) - 1;
    auto number = static_cast<int>(parts.size() + 1);
    auto part =
        co_await m_client.upload_part_copy(object_key, object_key, *upload_id, number, first, last, where(path));
    if (!part) {
      co_await m_client.abort_upload(object_key, *upload_id, where(path));
      co_return Unexpected(std::move(part).error());
    }
    parts.push_back(std::move(*part));
  }
  co_return std::make_unique<S3Upload>(*this, path, options.offset, options.expected_size, std::move(*upload_id),
                                       std::move(parts));
}

asio::awaitable<Result<std::unique_ptr<Download>>> S3Target::open_download(std::string path, std::uint64_t offset) {
  if (auto valid = check_path(path); !valid) co_return Unexpected(valid.error());
  if (path.empty()) co_return make_error(ErrorKind::permanent, fmt::format("{}: is a directory", where(path)));
  auto info = co_await m_client.head(key(path), where(path));
  if (!info) co_return Unexpected(std::move(info).error());
  co_return std::make_unique<S3Download>(*this, path, info->size, offset);
}

} // namespace offsite::target
