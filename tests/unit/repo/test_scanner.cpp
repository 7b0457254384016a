#include "repo/scanner.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace offsite;
using namespace offsite::repo;
namespace stdfs = std::filesystem;

namespace {

// The repository of BRIEF §1 in miniature, with a root file, a shallow file and an empty folder.
void make_tree(const stdfs::path& root) {
  test::write_file(root / "readme.txt", "root");
  test::write_file(root / "PC-0001/notes.txt", "notes");
  test::write_file(root / "PC-0001/Daily-System/full.img", "full image");
  test::write_file(root / "PC-0001/Daily-System/2024/inc.img", "inc");
  test::write_file(root / "PC-0002/Weekly/Deep/er/x.img", "x");
  stdfs::create_directories(root / "PC-0003/Empty/Also-Empty");
}

std::vector<std::string> folder_paths(const LocalView& view) {
  std::vector<std::string> paths;
  for (const auto& folder : view.folders)
    paths.push_back(folder.path);
  return paths;
}

std::vector<std::string> all_files(const LocalView& view) {
  std::vector<std::string> paths;
  for (const auto& folder : view.folders)
    for (const auto& file : folder.files)
      paths.push_back(file.path);
  return paths;
}

const SkippedEntry* find_skipped(const LocalView& view, std::string_view path) {
  auto it = std::find_if(view.skipped.begin(), view.skipped.end(), [&](const auto& s) { return s.path == path; });
  return it == view.skipped.end() ? nullptr : &*it;
}

LocalView scan(const stdfs::path& root, ScanOptions options = {}) {
  auto view = scan_repository(root, options);
  BOOST_REQUIRE_MESSAGE(view, (view ? "" : view.error().message));
  return std::move(*view);
}

using Paths = std::vector<std::string>;

} // namespace

BOOST_AUTO_TEST_SUITE(repo_scanner)

BOOST_AUTO_TEST_CASE(folder_of_takes_the_first_depth_directory_components) {
  BOOST_TEST(folder_of("a/b/c/f", 2) == "a/b");
  BOOST_TEST(folder_of("a/b/f", 2) == "a/b");
  BOOST_TEST(folder_of("a/f", 2) == "a");
  BOOST_TEST(folder_of("f", 2) == "");
  BOOST_TEST(folder_of("a/b/c/f", 0) == "");
  BOOST_TEST(folder_of("a/b/c/f", 1) == "a");
  BOOST_TEST(folder_of("a/b/c/f", 3) == "a/b/c");
  BOOST_TEST(folder_of("a/b/c/f", 9) == "a/b/c");
}

BOOST_AUTO_TEST_CASE(groups_files_into_folders_at_depth_2) {
  test::TempDir dir;
  make_tree(dir.path());
  auto view = scan(dir.path());
  BOOST_TEST(folder_paths(view) == (Paths{"", "PC-0001", "PC-0001/Daily-System", "PC-0002/Weekly"}),
             boost::test_tools::per_element());
  BOOST_TEST(view.folders[2].files.size() == 2u);
  BOOST_TEST(view.folders[2].files[0].path == "PC-0001/Daily-System/2024/inc.img");
  BOOST_TEST(view.folders[2].files[1].path == "PC-0001/Daily-System/full.img");
  BOOST_TEST(view.folders[3].files[0].path == "PC-0002/Weekly/Deep/er/x.img");
  BOOST_TEST(view.file_count == 5u);
  BOOST_TEST(view.total_bytes == 4u + 5 + 10 + 3 + 1);
  BOOST_TEST(view.skipped.empty());

  struct stat st {};
  BOOST_REQUIRE(::stat((dir.path() / "PC-0001/Daily-System/full.img").c_str(), &st) == 0);
  const LocalFile& full = view.folders[2].files[1];
  BOOST_TEST(full.size == 10u);
  BOOST_TEST(full.inode == st.st_ino);
  BOOST_TEST(full.mtime_ns == st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec);
  BOOST_TEST(full.ctime_ns == st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec);
}

BOOST_AUTO_TEST_CASE(folder_depths_0_1_3) {
  test::TempDir dir;
  make_tree(dir.path());
  BOOST_TEST(folder_paths(scan(dir.path(), {0, {}})) == Paths{""}, boost::test_tools::per_element());
  BOOST_TEST(folder_paths(scan(dir.path(), {1, {}})) == (Paths{"", "PC-0001", "PC-0002"}),
             boost::test_tools::per_element());
  BOOST_TEST(folder_paths(scan(dir.path(), {3, {}})) ==
                 (Paths{"", "PC-0001", "PC-0001/Daily-System", "PC-0001/Daily-System/2024", "PC-0002/Weekly/Deep"}),
             boost::test_tools::per_element());
  // Whatever the depth, every file is there once.
  for (int depth : {0, 1, 2, 3, 7})
    BOOST_TEST(scan(dir.path(), {depth, {}}).file_count == 5u);
}

BOOST_AUTO_TEST_CASE(offsite_directory_at_the_root_is_skipped) {
  test::TempDir dir;
  test::write_file(dir.path() / ".offsite/repository-id", "id");
  test::write_file(dir.path() / ".offsite/gate.lock", "");
  test::write_file(dir.path() / "PC-0001/.offsite/kept", "a nested one is ordinary data");
  auto view = scan(dir.path());
  BOOST_TEST(all_files(view) == Paths{"PC-0001/.offsite/kept"}, boost::test_tools::per_element());
  BOOST_TEST(view.skipped.empty());
}

BOOST_AUTO_TEST_CASE(excluded_files_and_directories_are_left_out_and_not_walked) {
  test::TempDir dir;
  make_tree(dir.path());
  test::write_file(dir.path() / "PC-0001/Daily-System/partial.tmp", "t");
  test::write_file(dir.path() / "top.tmp", "t");
  test::write_file(dir.path() / "PC-0001/Old/old.img", "old");
  test::write_file(dir.path() / "PC-0002/Weekly/x.log", "log");
  test::write_file(dir.path() / "PC-0002/x.log", "log");
  // Were PC-0001/Old walked, this fifo would be reported.
  BOOST_REQUIRE(::mkfifo((dir.path() / "PC-0001/Old/pipe").c_str(), 0600) == 0);
  auto view = scan(dir.path(), {2, {"*.tmp", "PC-0001/Old", "/PC-0002/*.log"}});
  BOOST_TEST(all_files(view) ==
                 (Paths{"readme.txt", "PC-0001/notes.txt", "PC-0001/Daily-System/2024/inc.img",
                        "PC-0001/Daily-System/full.img", "PC-0002/Weekly/Deep/er/x.img", "PC-0002/Weekly/x.log"}),
             boost::test_tools::per_element());
  BOOST_TEST(view.skipped.empty());
}

BOOST_AUTO_TEST_CASE(symlinks_are_reported_and_never_followed) {
  test::TempDir dir;
  auto root = dir.path() / "repo";
  test::write_file(root / "PC-0001/Daily/real.img", "real");
  test::write_file(dir.path() / "outside/secret.img", "secret");
  stdfs::create_symlink("real.img", root / "PC-0001/Daily/to-file.img");
  stdfs::create_directory_symlink("../PC-0001", root / "PC-0001/to-dir");
  stdfs::create_directory_symlink(dir.path() / "outside", root / "PC-0001/Daily/to-outside");
  stdfs::create_symlink(dir.path() / "outside/secret.img", root / "to-secret.img");
  stdfs::create_symlink("nowhere", root / "dangling");
  auto view = scan(root);
  BOOST_TEST(all_files(view) == Paths{"PC-0001/Daily/real.img"}, boost::test_tools::per_element());
  for (auto path :
       {"PC-0001/Daily/to-file.img", "PC-0001/to-dir", "PC-0001/Daily/to-outside", "to-secret.img", "dangling"}) {
    const SkippedEntry* skipped = find_skipped(view, path);
    BOOST_REQUIRE_MESSAGE(skipped, path);
    BOOST_TEST(skipped->reason == "symbolic link, not followed");
    BOOST_TEST(!skipped->is_error);
  }
  BOOST_TEST(view.skipped.size() == 5u);
}

BOOST_AUTO_TEST_CASE(special_files_are_reported) {
  test::TempDir dir;
  test::write_file(dir.path() / "PC-0001/Daily/a.img", "a");
  BOOST_REQUIRE(::mkfifo((dir.path() / "PC-0001/Daily/pipe").c_str(), 0600) == 0);
  auto view = scan(dir.path());
  BOOST_TEST(all_files(view) == Paths{"PC-0001/Daily/a.img"}, boost::test_tools::per_element());
  BOOST_REQUIRE(view.skipped.size() == 1u);
  BOOST_TEST(view.skipped[0].path == "PC-0001/Daily/pipe");
  BOOST_TEST(view.skipped[0].reason == "special file (fifo)");
  BOOST_TEST(!view.skipped[0].is_error);
}

BOOST_AUTO_TEST_CASE(odd_names_are_kept_byte_for_byte) {
  test::TempDir dir;
  const Paths names{"with space.img",
                    "\xc3\xbcnic\xc3\xb6"
                    "de.img",
                    "100%.img",
                    "#hash.img",
                    "quote\"s'.img",
                    "\x80\xff\xfe not utf-8.img",
                    "new\nline.img",
                    "back\\slash.img",
                    "-dash.img"};
  for (const auto& name : names)
    test::write_file(dir.path() / "PC-0001" / "Daily" / name, name);
  auto view = scan(dir.path());
  BOOST_REQUIRE(view.folders.size() == 1u);
  Paths expected;
  for (const auto& name : names)
    expected.push_back("PC-0001/Daily/" + name);
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(all_files(view) == expected, boost::test_tools::per_element());
  for (const auto& file : view.folders[0].files)
    BOOST_TEST(file.size == file.path.size() - 14);
}

BOOST_AUTO_TEST_CASE(output_is_sorted_in_byte_order) {
  test::TempDir dir;
  // A depth-first walk would give "a/b" before "a.txt"; byte order puts '.' (0x2e) before '/'.
  for (auto name : {"a/b", "a.txt", "a-b", "B", "\xc3\xa9", "a/c/d", "Z/z", "a0"})
    test::write_file(dir.path() / name, "x");
  auto view = scan(dir.path(), {0, {}});
  auto files = all_files(view);
  auto sorted = files;
  std::sort(sorted.begin(), sorted.end(), [](const std::string& a, const std::string& b) {
    int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    return c != 0 ? c < 0 : a.size() < b.size();
  });
  BOOST_TEST(files == sorted, boost::test_tools::per_element());
  BOOST_TEST(files.front() == "B");
  BOOST_TEST(files.back() == "\xc3\xa9");
  auto folders = folder_paths(scan(dir.path(), {1, {}}));
  BOOST_TEST(folders == (Paths{"", "Z", "a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(missing_or_non_directory_root_is_an_error_naming_it) {
  test::TempDir dir;
  auto missing = scan_repository(dir.path() / "nope", {});
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().kind == ErrorKind::not_found);
  BOOST_TEST(missing.error().message.find((dir.path() / "nope").string()) != std::string::npos);
  test::write_file(dir.path() / "file", "x");
  auto not_dir = scan_repository(dir.path() / "file", {});
  BOOST_REQUIRE(!not_dir);
  BOOST_TEST(not_dir.error().message.find((dir.path() / "file").string()) != std::string::npos);
}

// Root reads every directory, so as root the check runs as "nobody" (seteuid drops the
// capabilities that bypass permissions) and switches back afterwards.
BOOST_AUTO_TEST_CASE(unreadable_directory_is_reported_as_an_error) {
  test::TempDir dir;
  test::write_file(dir.path() / "PC-0001/Daily/a.img", "a");
  test::write_file(dir.path() / "locked/Daily/b.img", "b");
  for (auto path : {dir.path(), dir.path() / "PC-0001", dir.path() / "PC-0001/Daily"})
    stdfs::permissions(path, stdfs::perms(0755));
  stdfs::permissions(dir.path() / "locked", stdfs::perms::none);
  bool as_root = ::geteuid() == 0;
  if (as_root && ::seteuid(65534) != 0) {
    BOOST_TEST_MESSAGE("skipped: running as root and cannot seteuid(65534) to make a directory unreadable");
    return;
  }
  auto view = scan_repository(dir.path(), {});
  if (as_root) BOOST_REQUIRE(::seteuid(0) == 0);
  BOOST_REQUIRE(view);
  BOOST_TEST(all_files(*view) == Paths{"PC-0001/Daily/a.img"}, boost::test_tools::per_element());
  BOOST_REQUIRE(view->skipped.size() == 1u);
  BOOST_TEST(view->skipped[0].path == "locked");
  BOOST_TEST(view->skipped[0].is_error);
  BOOST_TEST(view->skipped[0].reason.find("Permission denied") != std::string::npos, view->skipped[0].reason);
}

BOOST_AUTO_TEST_SUITE_END()
