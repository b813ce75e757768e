#pragma once
// The file driver: a local folder whose keys are relative paths with '/' ("a/0.0" is the file
// <root>/a/0.0). Values are regular files. Plain writes go straight to the final name through a
// buffered sink that starts writeback as the file closes; durable writes use a temporary name,
// fsync and rename. Parent folders are created as needed.
#include <filesystem>

#include "kvstore/kvstore.h"

namespace te::kv {

class FileStore : public KvStore {
 public:
  explicit FileStore(std::filesystem::path root);

  std::optional<uint64_t> size(std::string_view key) const override;
  std::unique_ptr<ByteSource> read(std::string_view key, ByteRange range = {}) const override;
  std::vector<KeyEntry> list(std::string_view prefix = "") const override;
  std::unique_ptr<ValueSink> write(std::string_view key, WriteOptions options = {}) override;
  // Fast path from another FileStore: copy_file_range (the file system may share extents).
  uint64_t copy_from(const KvStore& src, std::string_view src_key,
                     std::string_view dst_key) override;
  std::string describe(std::string_view key) const override;
  std::string location() const override;

  const std::filesystem::path& root() const { return root_; }
  // The file of a key; throws te::Error when the key is not a relative path without '.', '..'
  // or empty components.
  std::filesystem::path path_of(std::string_view key) const;

 private:
  std::filesystem::path root_;
};

}  // namespace te::kv
