// The conformance suite against the in-memory target the engine's unit tests use, in its
// filesystem-like shape and its object-store-like shape (hidden uploads, renames that replace).

#include "support/memory_target.hpp"

#include <boost/test/unit_test.hpp>

#include "conformance.hpp"

namespace {

using offsite::test::MemoryOptions;
using offsite::test::MemoryStore;
using offsite::test::MemoryTarget;

struct MemoryFixture : offsite::test::ConformanceFixture {
  std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>();
  MemoryOptions options;

  std::unique_ptr<offsite::target::Target> make_target() override {
    return std::make_unique<MemoryTarget>(store, options);
  }
  std::pair<std::unique_ptr<offsite::target::Target>, std::string> make_target_on_missing_path() override {
    auto missing = std::make_shared<MemoryStore>();
    missing->target_path = "/no-such-bucket";
    missing->target_path_exists = false;
    return {std::make_unique<MemoryTarget>(missing, options), "/no-such-bucket"};
  }
  std::optional<std::string> make_read_only(const std::string& dir) override {
    store->read_only_directories.insert(dir);
    return std::nullopt;
  }
  std::uint64_t large_file_size() const override { return 8 << 20; } // memory, not a disk
};

struct ObjectStoreFixture : MemoryFixture {
  ObjectStoreFixture() { options.capabilities = MemoryOptions::object_store_capabilities(); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(conformance_memory)
OFFSITE_TARGET_CONFORMANCE(MemoryFixture)
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(conformance_memory_object_store)
OFFSITE_TARGET_CONFORMANCE(ObjectStoreFixture)
BOOST_AUTO_TEST_SUITE_END()
