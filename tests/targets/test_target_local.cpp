// The conformance suite against LocalTarget, once per rename method: the probed one, and the two
// fallbacks forced through the probe cache (NFS's link+unlink, FAT's exclusive create + copy).

#include "target/local.hpp"

#include <filesystem>
#include <unistd.h>

#include <asio/thread_pool.hpp>
#include <boost/test/unit_test.hpp>

#include "conformance.hpp"
#include "support/temp_dir.hpp"

namespace {

using offsite::target::LocalTarget;
using offsite::target::RenameMethod;

struct LocalFixture : offsite::test::ConformanceFixture {
  offsite::test::TempDir dir;
  asio::thread_pool pool{2};

  std::filesystem::path target_path() const { return dir.path() / "target"; }
  std::filesystem::path root() const { return target_path() / "SiteManager1"; }
  std::filesystem::path state_dir() const { return dir.path() / "state"; }

  ~LocalFixture() override {
    std::error_code ignored;
    std::filesystem::permissions(root() / "locked", std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ignored);
  }

  std::unique_ptr<offsite::target::Target> make_target() override {
    std::filesystem::create_directories(target_path());
    return std::make_unique<LocalTarget>(target_path(), "SiteManager1", pool, state_dir());
  }

  std::pair<std::unique_ptr<offsite::target::Target>, std::string> make_target_on_missing_path() override {
    auto missing = dir.path() / "no-such-disk";
    return {std::make_unique<LocalTarget>(missing, "SiteManager1", pool, state_dir()), missing.string()};
  }

  std::optional<std::string> make_read_only(const std::string& relative) override {
    if (::geteuid() == 0) return "running as root, whom a read-only mode does not stop (see unit target_local_fs)";
    std::filesystem::permissions(root() / relative,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    return std::nullopt;
  }
};

template <RenameMethod method> struct ForcedMethodFixture : LocalFixture {
  std::unique_ptr<offsite::target::Target> make_target() override {
    auto written = offsite::target::write_probe_cache(state_dir(), root(), method);
    BOOST_TEST_REQUIRE(written.has_value());
    return LocalFixture::make_target();
  }
};

using LinkFixture = ForcedMethodFixture<RenameMethod::link>;
using CopyFixture = ForcedMethodFixture<RenameMethod::exclusive_create>;

} // namespace

BOOST_AUTO_TEST_SUITE(conformance_local)
OFFSITE_TARGET_CONFORMANCE(LocalFixture)
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(conformance_local_link)
OFFSITE_TARGET_CONFORMANCE(LinkFixture)
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(conformance_local_copy)
OFFSITE_TARGET_CONFORMANCE(CopyFixture)
BOOST_AUTO_TEST_SUITE_END()
