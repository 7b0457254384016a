#pragma once
// A secret (password, passphrase, key) that cannot leak by accident: no conversion to string,
// and every way of printing it prints `<redacted>`. Only the code that hands it to a library
// calls reveal(), so a grep for reveal() finds every place a secret leaves offsite.

#include <iosfwd>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace offsite::config {

class Secret {
public:
  Secret() = default;
  explicit Secret(std::string value) : m_value(std::move(value)) {}

  const std::string& reveal() const { return m_value; }
  bool empty() const { return m_value.empty(); }

private:
  std::string m_value;
};

inline constexpr const char* k_redacted = "<redacted>";

std::ostream& operator<<(std::ostream& out, const Secret& secret);

} // namespace offsite::config

template <> struct fmt::formatter<offsite::config::Secret> : fmt::formatter<fmt::string_view> {
  template <class FormatContext> auto format(const offsite::config::Secret&, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(offsite::config::k_redacted, ctx);
  }
};
