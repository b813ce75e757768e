#include "kvstore/file/copy_tree.h"

#include "kvstore/file/file_links.h"
#include "util/error.h"
#include "util/file.h"

namespace te::kv {

uint64_t copy_tree(const fs::path& from, const fs::path& to, const fs::path& root) {
  std::error_code ec;
  auto status = fs::symlink_status(from, ec);
  if (ec) fail("cannot read {}: {}", from.string(), ec.message());
  if (fs::is_symlink(status)) {
    copy_link_within(from, to, root);
    return 0;
  }
  if (fs::is_directory(status)) {
    fs::create_directories(to);
    uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(from))
      total += copy_tree(e.path(), to / e.path().filename(), root);
    return total;
  }
  if (!fs::is_regular_file(status))
    fail("{}: not a regular file or folder; refusing to copy it", from.string());
  return copy_file_bytes(from, to);
}

}  // namespace te::kv
