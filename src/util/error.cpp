#include "util/error.hpp"

#include <cerrno>
#include <cstring>
#include <ostream>

#include <fmt/format.h>

namespace offsite {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::transient: return "transient";
  case ErrorKind::permanent: return "permanent";
  case ErrorKind::not_found: return "not_found";
  case ErrorKind::already_exists: return "already_exists";
  case ErrorKind::cancelled: return "cancelled";
  case ErrorKind::config: return "config";
  case ErrorKind::id_mismatch: return "id_mismatch";
  case ErrorKind::refused: return "refused";
  case ErrorKind::unsupported: return "unsupported";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, ErrorKind kind) { return out << to_string(kind); }

Error Error::with_context(std::string_view context) const {
  return Error{kind, fmt::format("{}: {}", context, message)};
}

Error error_from_errno(int errnum, std::string_view what) {
  ErrorKind kind = ErrorKind::permanent;
  switch (errnum) {
  case ENOENT:
  case ENOTDIR: kind = ErrorKind::not_found; break;
  case EEXIST:
  case ENOTEMPTY: kind = ErrorKind::already_exists; break;
  case EAGAIN:
  case EINTR:
  case ETIMEDOUT:
  case ECONNRESET:
  case ECONNREFUSED:
  case ECONNABORTED:
  case EPIPE:
  case ENETDOWN:
  case ENETUNREACH:
  case EHOSTUNREACH:
  case ESTALE: kind = ErrorKind::transient; break;
  case ECANCELED: kind = ErrorKind::cancelled; break;
  default: break;
  }
  return Error{kind, fmt::format("{}: {}", what, std::strerror(errnum))};
}

} // namespace offsite
