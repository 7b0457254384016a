#include "util/uuid.hpp"

#include <boost/test/unit_test.hpp>
#include <set>

using namespace offsite;

BOOST_AUTO_TEST_SUITE(util_uuid)

BOOST_AUTO_TEST_CASE(generated_uuids_are_version_4_and_distinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto id = generate_uuid();
    BOOST_TEST(id.size() == 36u);
    BOOST_TEST(id[14] == '4');
    BOOST_TEST((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
    BOOST_TEST(parse_uuid(id).value_or("") == id);
    seen.insert(id);
  }
  BOOST_TEST(seen.size() == 100u);
}

BOOST_AUTO_TEST_CASE(parse_normalises_case_and_rejects_garbage) {
  BOOST_TEST(parse_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E").value_or("") == "0f8fad5b-d9cb-469f-a165-70867728950e");
  BOOST_TEST(!parse_uuid(""));
  BOOST_TEST(!parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
  BOOST_TEST(!parse_uuid("0f8fad5b-d9cb-469f-a165-70867728950e\n"));
  BOOST_TEST(!parse_uuid("0f8fad5bxd9cb-469f-a165-70867728950e"));
  BOOST_TEST(!parse_uuid("{f8fad5b-d9cb-469f-a165-70867728950e"));
  BOOST_TEST(!parse_uuid(std::string_view("0f8fad5b-d9cb-469f-a165-7086772895\0e", 36)));
}

BOOST_AUTO_TEST_SUITE_END()
