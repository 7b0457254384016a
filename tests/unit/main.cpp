// The one translation unit that defines the Boost.Test module; every unit test executable
// links it. Each layer's tests live in tests/unit/<layer>/, mirroring src/<layer>/.
#define BOOST_TEST_MODULE offsite
#include <boost/test/unit_test.hpp>
