#pragma once
// The OCDBT driver, read side: a TensorStore OCDBT database (orbax-format.md §2) over a base
// store that holds the database folder's files (manifest.ocdbt, d/…) at its root. open() reads
// the manifest (single or numbered kind), picks the latest generation (or the one asked for,
// through the version tree) and walks its B+tree once into a sorted index key → inline bytes or
// (data file, offset, length). Values in data files are read by byte range and streamed; a data
// file is never read whole. Immutable after open(), so every read is thread-safe.
#include <memory>
#include <optional>

#include "kvstore/kvstore.h"
#include "kvstore/ocdbt/format/manifest.h"

namespace te::kv {

struct OcdbtOpenOptions {
  // nullopt = the latest generation.
  std::optional<uint64_t> generation;
};

class OcdbtStore : public KvStore {
 public:
  static std::shared_ptr<OcdbtStore> open(std::shared_ptr<const KvStore> base,
                                          OcdbtOpenOptions options = {});

  // Where a value is stored: inline bytes (file == kInline) or a range of files()[file].
  struct Entry {
    static constexpr uint32_t kInline = UINT32_MAX;
    std::string key;
    uint32_t file = kInline;
    uint64_t offset = 0;
    uint64_t length = 0;
    Bytes inline_value;
  };

  std::optional<uint64_t> size(std::string_view key) const override;
  std::unique_ptr<ByteSource> read(std::string_view key, ByteRange range = {}) const override;
  std::vector<KeyEntry> list(std::string_view prefix = "") const override;
  std::string describe(std::string_view key) const override;
  std::string location() const override;

  const Entry* find(std::string_view key) const;
  const std::vector<std::string>& files() const { return files_; }
  const KvStore& base() const { return *base_; }
  const ocdbt::Manifest& manifest() const { return manifest_; }
  // The generation read, and its root.
  const ocdbt::BtreeGenerationReference& version() const { return version_; }

  OcdbtStore(std::shared_ptr<const KvStore> base, ocdbt::Manifest manifest,
             ocdbt::BtreeGenerationReference version, std::vector<Entry> index,
             std::vector<std::string> files);

 private:
  std::shared_ptr<const KvStore> base_;
  ocdbt::Manifest manifest_;
  ocdbt::BtreeGenerationReference version_;
  std::vector<Entry> index_;
  std::vector<std::string> files_;
};

// Throws te::Error unless `path` (a data file named by a database) stays inside the database
// folder: non-empty, relative, no '..' component, no NUL byte.
void check_data_file_path(const std::string& path, const std::string& referrer);

// True when `base` holds manifest.ocdbt.
bool is_ocdbt_database(const KvStore& base);

}  // namespace te::kv
