#pragma once
// The OCDBT driver, write side: builds a new single-generation database in an empty base store
// (a database folder). Values up to max_inline_value_bytes go into the B+tree leaves; longer ones
// are appended to data files d/<32 lowercase hex>, each written by one thread at a time: a value
// being written holds a data file of its own, so threads writing distinct keys never wait for
// each other's bytes, and a file is closed (durably) once it reaches target_data_file_size.
// commit() writes the B+tree (leaves, then interior levels, each node within
// max_decoded_node_bytes and max_node_entries), then manifest.ocdbt last, durably: the database
// exists only once commit() returns. Memory: one inline buffer per open sink plus the key index.
// Config as Orbax writes it (orbax-format.md §2.9) unless the options say otherwise.
//
// One database written by several processes (a distributed conversion): every process writes its
// values through an OcdbtWriter of its own on the same database folder (data file names are
// random, so they never collide); each process except one then calls export_index(), which
// closes its data files durably and returns its key index, and the one that commits adds every
// other index with import_index() before commit(). The result is the database one writer would
// have written with the same values (the data files and their names differ).
#include <map>
#include <memory>
#include <mutex>
#include <variant>

#include "kvstore/kvstore.h"
#include "kvstore/ocdbt/format/manifest.h"

namespace te::kv {

class OcdbtStore;

struct OcdbtWriterOptions {
  uint32_t max_inline_value_bytes = 1024;
  uint32_t max_decoded_node_bytes = 100000000;
  uint64_t max_node_entries = 1048576;
  uint64_t target_data_file_size = uint64_t{2} << 30;  // 0 = unlimited
  bool compress = true;                                // zstd for nodes and the manifest
  int32_t zstd_level = 0;
  uint8_t version_tree_arity_log2 = 4;
};

class OcdbtWriter : public KvStore {
 public:
  explicit OcdbtWriter(std::shared_ptr<KvStore> base, OcdbtWriterOptions options = {});
  ~OcdbtWriter() override;

  // Size and listing of the values written so far; read() only after commit().
  std::optional<uint64_t> size(std::string_view key) const override;
  std::unique_ptr<ByteSource> read(std::string_view key, ByteRange range = {}) const override;
  std::vector<KeyEntry> list(std::string_view prefix = "") const override;
  // Each key once; the value is part of the database when its sink's close() returns.
  std::unique_ptr<ValueSink> write(std::string_view key, WriteOptions options = {}) override;
  // From an OcdbtStore: the stored bytes by their location, inline values without a read. From a
  // FileStore: a value longer than an inline one is appended to a data file by copy_file_range.
  uint64_t copy_from(const KvStore& src, std::string_view src_key,
                     std::string_view dst_key) override;
  std::string describe(std::string_view key) const override;
  std::string location() const override;

  // Writes the B+tree and the manifest; afterwards the writer reads like an OcdbtStore.
  const ocdbt::Manifest& commit();

  // Closes every data file (durably: fsync, as every data file is written) and returns the key
  // index (each key -> its inline bytes, or data file name + offset + length) in a compact
  // binary form for import_index(). The writer is sealed: no more values, no commit().
  std::string export_index();
  // Adds the values of `exported` (another writer's export_index(), its data files in this
  // writer's database folder) to this writer's index. `from` names the other writer in errors: a
  // key this writer already holds ("... written twice: by <from> and ...") and a malformed index.
  void import_index(std::string_view exported, std::string_view from);

  struct DataFile;
  struct IndirectValue {
    uint32_t file;
    uint64_t offset, length;
  };
  using StoredValue = std::variant<Bytes, IndirectValue>;
  // Used by the sinks.
  DataFile* acquire_data_file();
  void release_data_file(DataFile* file);
  void add_value(const std::string& key, StoredValue value);
  const OcdbtWriterOptions& options() const { return options_; }

 private:
  std::shared_ptr<KvStore> base_;
  OcdbtWriterOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, StoredValue> index_;
  std::vector<std::unique_ptr<DataFile>> files_;  // every data file, by number
  std::vector<DataFile*> idle_files_;             // open and not held by a sink
  size_t held_files_ = 0;
  bool committed_ = false;
  bool sealed_ = false;  // export_index() ran: the values belong to the writer that commits
  bool broken_ = false;  // a data file failed to close: its values are lost
  ocdbt::Manifest manifest_;
  std::shared_ptr<OcdbtStore> reader_;
};

// 32 lowercase hex digits of 16 random bytes (getrandom through std::random_device).
std::string random_data_file_name();

}  // namespace te::kv
