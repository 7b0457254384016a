#include "util/result.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

#include "util/error.hpp"

using namespace offsite;

BOOST_AUTO_TEST_SUITE(util_result)

BOOST_AUTO_TEST_CASE(value_and_error_are_distinguished) {
  Result<int> good = 42;
  BOOST_TEST(good.has_value());
  BOOST_TEST(*good == 42);
  Result<int> bad = make_error(ErrorKind::not_found, "x: missing");
  BOOST_TEST(!bad);
  BOOST_TEST(bad.error().message == "x: missing");
  BOOST_TEST(bad.value_or(7) == 7);
}

BOOST_AUTO_TEST_CASE(void_result_carries_error) {
  Result<void> ok;
  BOOST_TEST(ok.has_value());
  Result<void> failed = make_error(ErrorKind::transient, "reset");
  BOOST_TEST(!failed);
  BOOST_TEST(static_cast<int>(failed.error().kind) == static_cast<int>(ErrorKind::transient));
}

BOOST_AUTO_TEST_CASE(context_is_prefixed) {
  Error e{ErrorKind::permanent, "Permission denied"};
  BOOST_TEST(e.with_context("cannot write /x").message == "cannot write /x: Permission denied");
}

BOOST_AUTO_TEST_CASE(errno_maps_to_kinds) {
  BOOST_TEST(error_from_errno(ENOENT, "a").kind == ErrorKind::not_found);
  BOOST_TEST(error_from_errno(EEXIST, "a").kind == ErrorKind::already_exists);
  BOOST_TEST(error_from_errno(ECONNRESET, "a").kind == ErrorKind::transient);
  BOOST_TEST(error_from_errno(EACCES, "a").kind == ErrorKind::permanent);
  BOOST_TEST(error_from_errno(ENOSPC, "write /m/x").message.find("write /m/x") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
