#pragma once
// Shared by the tests/orbax_*_test.cc files: the Orbax fixtures, a folder as a FolderListing
// (through kv::FileStore), and small file readers.
#include <memory>

#include "checkpoint/orbax_layout.h"
#include "kvstore/file/file_store.h"
#include "test_util.h"

namespace te::testing {

inline const fs::path kOrbaxFixtures = kFixtureRoot / "orbax";
inline const fs::path kOrbaxCompat = kFixtureRoot / "orbax-compat";

inline checkpoint::FolderListing listing_of(const fs::path& dir) {
  auto store = std::make_shared<kv::FileStore>(dir);
  checkpoint::FolderListing listing;
  for (const auto& e : store->list()) listing.files.push_back(e.key);
  listing.read = [store](const std::string& key) { return to_string(store->read_all(key)); };
  return listing;
}

inline std::string read_text(const fs::path& path) {
  return to_string(read_bytes(path));
}

// Every folder below `root` (recursively) that holds `file`.
inline std::vector<fs::path> folders_with(const fs::path& root, const std::string& file) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().filename() == file) out.push_back(e.path().parent_path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace te::testing
