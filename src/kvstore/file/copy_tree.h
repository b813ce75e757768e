#pragma once
// Copies of files and folder trees of a local checkpoint, byte for byte into new files
// (copy_file_range). Symbolic links are never followed: one that stays inside the checkpoint is
// recreated as the same link, one that leaves it is an error naming it (see file_links.h).
#include <cstdint>
#include <filesystem>

namespace te::kv {

// Copies the file or folder tree `from` of the checkpoint at `root` to `to`. Returns the bytes
// of the files copied.
uint64_t copy_tree(const std::filesystem::path& from, const std::filesystem::path& to,
                   const std::filesystem::path& root);

}  // namespace te::kv
