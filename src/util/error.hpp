#pragma once
// Errors as values. `kind` drives retries (only `transient` is retried) and exit codes;
// `message` names what failed (file:line:key, or the remote URL and path) and never holds a secret.

#include <iosfwd>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace offsite {

enum class ErrorKind {
  transient,      // worth retrying: a dropped connection, a timeout, a 503
  permanent,      // retrying will not help: permission denied, disk full, bad data
  not_found,      // the path or object does not exist
  already_exists, // a create-only operation met an existing name
  cancelled,      // stop requested (window end, SIGTERM, SIGINT)
  config,         // bad configuration or usage (exit 2)
  id_mismatch,    // the remote belongs to another repository (exit 3)
  refused,        // a guard refused to go on (exit 5)
  unsupported,    // the target cannot do this (exit 2 for a type not implemented)
};

std::string_view to_string(ErrorKind kind);
std::ostream& operator<<(std::ostream& out, ErrorKind kind); // for test output

struct Error {
  ErrorKind kind = ErrorKind::permanent;
  std::string message;

  // A copy whose message starts with `context: ` (what was being done, which path).
  Error with_context(std::string_view context) const;
};

template <class T> using Result = Expected<T, Error>;

inline Unexpected<Error> make_error(ErrorKind kind, std::string message) {
  return Unexpected<Error>(Error{kind, std::move(message)});
}

// An Error from errno-style codes; EAGAIN/ETIMEDOUT/ECONNRESET... become transient, ENOENT
// not_found, EEXIST already_exists, the rest permanent. `what` names the path and the action.
Error error_from_errno(int errnum, std::string_view what);

} // namespace offsite
