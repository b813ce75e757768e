#pragma once
// The memory driver: a sorted map of keys to values behind a reader-writer lock (tests, and
// checkpoints whose arrays are held inline in an index). A value is committed when its sink
// closes; readers hold a reference to the value they read, so a replaced value stays valid for
// them.
#include <map>
#include <shared_mutex>

#include "kvstore/kvstore.h"

namespace te::kv {

class MemoryStore : public KvStore {
 public:
  explicit MemoryStore(std::string name = "memory store") : name_(std::move(name)) {}

  std::optional<uint64_t> size(std::string_view key) const override;
  std::unique_ptr<ByteSource> read(std::string_view key, ByteRange range = {}) const override;
  std::vector<KeyEntry> list(std::string_view prefix = "") const override;
  std::unique_ptr<ValueSink> write(std::string_view key, WriteOptions options = {}) override;
  std::string describe(std::string_view key) const override;
  std::string location() const override { return name_; }

  // Sets a value directly.
  void put(std::string_view key, Bytes value);
  // Removes a key (tests: a missing data file); returns whether it was there.
  bool erase(std::string_view key);

 private:
  std::shared_ptr<const Bytes> find(std::string_view key) const;
  std::string name_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const Bytes>, std::less<>> values_;
};

}  // namespace te::kv
