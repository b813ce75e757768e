#pragma once
// KvStore: the storage layer beneath the arrays. A store maps keys (byte strings; for the file
// driver relative paths with '/') to values (byte strings). Values are read as streams, whole or by
// byte range, written through sinks, listed by prefix in unsigned byte order, and described for
// error messages. Drivers live in their own folders: kvstore/file, kvstore/memory, kvstore/ocdbt.
//
// Thread safety (every driver): concurrent reads (size, read, list, describe) of the same or
// distinct keys from many threads are safe; writes of distinct keys from many threads are safe,
// also while other keys are read. Writing the same key from two threads at once is undefined.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/byte_stream.h"
#include "util/bytes.h"

namespace te::kv {

// A byte range of a value: `length` nullopt = up to the end. A range that does not lie inside the
// value is an error naming the key.
struct ByteRange {
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

struct KeyEntry {
  std::string key;
  uint64_t size = 0;
  bool operator==(const KeyEntry&) const = default;
};

// How a written value reaches storage.
struct WriteOptions {
  // false: the value is visible once close() returns and becomes durable with the caller's own
  // commit (e.g. the output folder's sync and rename). true: close() returns only when the value
  // is on stable storage, and it replaces any older value atomically (file driver: temporary
  // name, fsync, rename, fsync of the folder). OCDBT data files and manifests are written durably.
  bool durable = false;
};

// A value being written. Bytes written are committed by close(), which returns the stored size;
// a sink destroyed without close() leaves no value (or the old one) behind.
class ValueSink : public ByteSink {
 public:
  virtual uint64_t close() = 0;
  // Appends the whole content of the local file `path` (as write() would); returns its bytes.
  // The default reads and writes; a file store's sink copies in the kernel (copy_file_range).
  virtual uint64_t append_file(const std::filesystem::path& path);
};

class KvStore {
 public:
  virtual ~KvStore() = default;

  // Size of the value, or nullopt when the key is missing.
  virtual std::optional<uint64_t> size(std::string_view key) const = 0;
  // Streams the value's bytes in `range`; a missing key throws te::Error naming describe(key).
  virtual std::unique_ptr<ByteSource> read(std::string_view key, ByteRange range = {}) const = 0;
  // The whole value (or range) in memory.
  Bytes read_all(std::string_view key, ByteRange range = {}) const;
  // Every key starting with `prefix`, with its size, sorted by unsigned bytes.
  virtual std::vector<KeyEntry> list(std::string_view prefix = "") const = 0;

  // Writes (creates or replaces) a value. Read-only stores throw te::Error.
  virtual std::unique_ptr<ValueSink> write(std::string_view key, WriteOptions options = {});
  // Copies the value `src_key` of `src` to `dst_key` of this store; returns the bytes copied.
  // The default streams through read() and write(); drivers add fast paths (file to file:
  // copy_file_range; OCDBT to an OCDBT writer: the stored bytes without a second lookup).
  virtual uint64_t copy_from(const KvStore& src, std::string_view src_key,
                             std::string_view dst_key);

  // The key for messages: "local file /x/state/a/0.0", "OCDBT /x/state key 'a/0' (data file
  // d/ab…, offset 123, length 45)".
  virtual std::string describe(std::string_view key) const = 0;
  // The store itself for messages: "local folder /x/state", "memory store", "OCDBT /x/state".
  virtual std::string location() const = 0;
};

// A key for messages: bytes outside printable ASCII as \xNN.
std::string printable_key(std::string_view key);

// Streams all of `source` into `sink`; returns the bytes moved.
uint64_t pump(ByteSource& source, ByteSink& sink);

}  // namespace te::kv
