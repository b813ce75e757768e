#pragma once
// The store `te-ckpt verify` writes its expected conversion through, so that verifying needs no
// disk for the arrays' values: array metadata (and any other value that is not a chunk) goes on
// to `inner`, but a chunk value is decoded with its array's metadata and compared, executor chunk
// by executor chunk, with the same box of the converted checkpoint's array of that name, then
// dropped. Memory: the stored value being written (one chunk, or a shard of one inner chunk) plus
// one executor chunk of each side; a value copied from another store (copy_from) is read from
// there, by byte ranges where sharded.
//
// What was compared is kept (ComparedChunks): compare_checkpoints() then compares only the rest,
// the chunks no value was written for (they read as the fill value on both sides), and the index.
// An array of the converted checkpoint that is missing or has another dtype or shape is left to
// compare_checkpoints(), which reports it. Every method may be called from many threads at once.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "checkpoint/checkpoint.h"
#include "exec/checkpoint_comparison.h"
#include "kvstore/kvstore.h"
#include "kvstore/memory/memory_store.h"
#include "zarr/metadata.h"

namespace te::exec {

class ComparingStore final : public kv::KvStore {
 public:
  // `planned`: the metadata of arrays the plan writes, by name, for chunks that arrive before
  // their array's metadata (a zarr3 copy's keys in listing order put zarr.json last); metadata
  // written through `inner` wins. `actual`: the converted checkpoint; it outlives the store.
  ComparingStore(std::shared_ptr<kv::KvStore> inner, const checkpoint::Checkpoint& actual,
                 std::map<std::string, zarr::ArrayMetadata> planned);

  std::optional<uint64_t> size(std::string_view key) const override { return inner_->size(key); }
  std::unique_ptr<ByteSource> read(std::string_view key, kv::ByteRange range) const override {
    return inner_->read(key, range);
  }
  std::vector<kv::KeyEntry> list(std::string_view prefix) const override {
    return inner_->list(prefix);
  }
  std::unique_ptr<kv::ValueSink> write(std::string_view key, kv::WriteOptions options) override;
  uint64_t copy_from(const KvStore& src, std::string_view src_key,
                     std::string_view dst_key) override;
  std::string describe(std::string_view key) const override { return inner_->describe(key); }
  std::string location() const override { return "the expected conversion, compared"; }

  // What was compared so far (call once the executor has returned).
  ComparedChunks results() const;

  // Compares the chunk value `key`, which `value` holds under that key (internal: the sinks of
  // write() call it when they close).
  void compare_value(const std::string& key, std::shared_ptr<const kv::KvStore> value);

 private:
  struct Target {
    std::string name;
    zarr::ArrayMetadata metadata;
  };
  // The array a chunk key belongs to, or nullopt when `key` is not a chunk of a known array.
  std::optional<Target> target_of(const std::string& key);

  std::shared_ptr<kv::KvStore> inner_;
  std::map<std::string, const checkpoint::ArrayEntry*> actual_;
  std::map<std::string, zarr::ArrayMetadata> planned_;
  mutable std::mutex mutex_;
  // Copies of the metadata values written (the inner store may not read before a commit), and
  // the metadata parsed from them.
  std::shared_ptr<kv::MemoryStore> metadata_ =
      std::make_shared<kv::MemoryStore>("the expected conversion's metadata");
  std::map<std::string, zarr::ArrayMetadata> written_;
  ComparedChunks compared_;
};

}  // namespace te::exec
