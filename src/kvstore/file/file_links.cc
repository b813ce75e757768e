#include "kvstore/file/file_links.h"

#include "util/error.h"

namespace te::kv {

namespace fs = std::filesystem;

namespace {

// The link's target, refused when it is absolute or leaves `root`.
fs::path checked_target(const fs::path& from, const fs::path& root) {
  std::error_code ec;
  fs::path target = fs::read_symlink(from, ec);
  if (ec) fail("cannot read the symbolic link {}: {}", from.string(), ec.message());
  if (target.is_absolute()) {
    fail(
        "{} is a symbolic link to the absolute path {}; te-ckpt copies no links that leave the "
        "checkpoint (replace it with the file itself or a relative link inside {})",
        from.string(), target.string(), root.string());
  }
  // Where the link points, relative to the checkpoint root, resolved lexically (no component of
  // it is followed, so a link to a link is judged by its own text).
  fs::path root_dir = root;
  fs::path link_dir = from.parent_path().lexically_relative(root_dir);
  if (link_dir.empty() && from.parent_path() != root_dir) link_dir = from.parent_path();
  fs::path resolved = (link_dir / target).lexically_normal();
  if (resolved.empty() || *resolved.begin() == ".." || resolved.is_absolute()) {
    fail(
        "{} is a symbolic link to {}, which is outside the checkpoint {}; te-ckpt copies no links "
        "that leave the checkpoint",
        from.string(), target.string(), root.string());
  }
  return target;
}

}  // namespace

void copy_link_within(const fs::path& from, const fs::path& to, const fs::path& root) {
  fs::path target = checked_target(from, root);
  std::error_code ec;
  fs::create_symlink(target, to, ec);
  if (ec) fail("cannot create the symbolic link {}: {}", to.string(), ec.message());
}

void check_links_within(const fs::path& tree, const fs::path& root) {
  std::error_code ec;
  auto status = fs::symlink_status(tree, ec);
  if (fs::is_symlink(status)) {
    checked_target(tree, root);
    return;
  }
  if (!fs::is_directory(status)) return;
  for (const auto& e : fs::directory_iterator(tree, ec)) check_links_within(e.path(), root);
}

}  // namespace te::kv
