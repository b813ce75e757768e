#pragma once
// Symbolic links found inside a checkpoint while copying it. A link is never followed (a link to
// "." would otherwise copy the checkpoint into itself level after level, and a link to /etc/...
// would copy a file from outside the checkpoint). A relative link whose target stays inside the
// checkpoint is recreated with the same target text, so it means the same thing in the output;
// an absolute link, or one whose target leaves the checkpoint ("../.."), is refused by name.
#include <filesystem>

namespace te::kv {

// Recreates the link `from` (inside the checkpoint folder `root`) as `to`, or throws te::Error
// naming the link and its target when the target is absolute or outside `root`.
void copy_link_within(const std::filesystem::path& from, const std::filesystem::path& to,
                      const std::filesystem::path& root);

// Checks every link in the tree `tree` (a file or folder inside `root`) as copy_link_within
// would, without following any; the planner calls it so that a dry run refuses them too.
void check_links_within(const std::filesystem::path& tree, const std::filesystem::path& root);

}  // namespace te::kv
