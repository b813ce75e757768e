#pragma once
// A view of the keys of another store that start with a prefix, with the prefix removed (the
// `path` of a TensorStore ocdbt spec: a zarr array at "<name>/" inside a database).
#include <memory>

#include "kvstore/kvstore.h"

namespace te::kv {

class PrefixedStore : public KvStore {
 public:
  PrefixedStore(std::shared_ptr<const KvStore> inner, std::string prefix)
      : inner_(std::move(inner)), prefix_(std::move(prefix)) {}
  std::optional<uint64_t> size(std::string_view key) const override {
    return inner_->size(full(key));
  }
  std::unique_ptr<ByteSource> read(std::string_view key, ByteRange range = {}) const override {
    return inner_->read(full(key), range);
  }
  std::vector<KeyEntry> list(std::string_view prefix = "") const override {
    auto entries = inner_->list(full(prefix));
    for (auto& e : entries) e.key.erase(0, prefix_.size());
    return entries;
  }
  std::string describe(std::string_view key) const override { return inner_->describe(full(key)); }
  std::string location() const override { return inner_->location() + " under '" + prefix_ + "'"; }

 private:
  std::string full(std::string_view key) const { return prefix_ + std::string(key); }
  std::shared_ptr<const KvStore> inner_;
  std::string prefix_;
};

}  // namespace te::kv
