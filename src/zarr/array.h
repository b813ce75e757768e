#pragma once
// A zarr array in a key-value store: its metadata plus chunk-level and region-level I/O. The
// array lives under a key prefix of the store ("" or "<name>/"): its metadata is the value
// `<prefix>.zarray`, a chunk the value `<prefix><chunk key>`. zarr3 arrays (`<prefix>zarr.json`)
// work through the same interface in executor chunks (v3_array_metadata.h: the inner chunk of an
// Orbax-style shard); their chunks are decoded and encoded whole (v3_chunk_io.h). Messages name
// keys through the store's describe(). Reads and writes of distinct chunks are independent and may
// run concurrently from several threads. The array shares ownership of its store.
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "kvstore/kvstore.h"
#include "util/bytes.h"
#include "zarr/metadata.h"

namespace te::zarr {

// A hyper-rectangle of an array: start and size per dimension.
struct Box {
  Shape start;
  Shape size;
};

// Streams one chunk's decoded bytes in C order (a missing chunk file streams the fill value).
class ChunkReader {
 public:
  virtual ~ChunkReader() = default;
  virtual void read(std::span<std::byte> out) = 0;
  // Checks that the chunk decoded to exactly its expected size and nothing follows.
  virtual void finish() = 0;
};

// Streams one chunk's decoded bytes (C order, full padded chunk) into a new chunk value.
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  virtual void write(std::span<const std::byte> data) = 0;
  // Ends the stream and commits the value; returns the stored (compressed) size.
  virtual uint64_t finish() = 0;
};

class ZarrArray {
 public:
  // Opens the array under `prefix` of `store`, reading `<prefix>.zarray`, else
  // `<prefix>zarr.json` (zarr3).
  static ZarrArray open(std::shared_ptr<const kv::KvStore> store, std::string prefix = "");
  // Opens an array whose metadata is known from elsewhere (a T5X index spec without .zarray).
  static ZarrArray open_with_metadata(std::shared_ptr<const kv::KvStore> store, std::string prefix,
                                      ArrayMetadata metadata);
  // With metadata.v3 (zarr3): writes its zarr.json as TensorStore does. Otherwise writes
  // TensorStore's .zarray for `metadata` under `prefix`, normalised to TensorStore's form
  // of a new array (C order, "." separator, null fill value); chunks are written by the writers.
  // write_metadata false: the same array, its metadata left to another writer (another process of
  // a distributed run writes it once); only chunks are written through this one.
  static ZarrArray create(std::shared_ptr<kv::KvStore> store, std::string prefix,
                          ArrayMetadata metadata, bool write_metadata = true);

  const ArrayMetadata& metadata() const { return metadata_; }
  const kv::KvStore& store() const { return *store_; }
  const std::string& prefix() const { return prefix_; }
  // The key of a chunk in the store: prefix + the chunk key of the metadata (zarr3: the key of
  // the shard holding the executor chunk).
  std::string chunk_key(const Shape& chunk_index) const;
  // The array for messages: the store's description of its prefix (or the store itself).
  std::string describe() const;

  // A streaming reader over a C-order chunk. For 'F'-order arrays use read_chunk().
  std::unique_ptr<ChunkReader> open_chunk(const Shape& chunk_index) const;
  // The whole decoded chunk in C order (Fortran-order chunks are transposed).
  Bytes read_chunk(const Shape& chunk_index) const;
  // Reads `box` into `out` (dense, C order, box.size elements).
  void read_region(const Box& box, std::span<std::byte> out) const;
  // Reads the whole array (small arrays only: tests, inspect, inline data).
  Bytes read_all() const;

  // Writers need an array made by create() (or a writable store); otherwise te::Error.
  std::unique_ptr<ChunkWriter> open_chunk_writer(const Shape& chunk_index) const;
  // Encodes and writes one full (padded) chunk; returns the stored size.
  uint64_t write_chunk(const Shape& chunk_index, std::span<const std::byte> data) const;
  // The payload of a chunk (chunk_payload.h: its compressor's output, moved between zarr versions
  // without decoding), or nullopt when the chunk is missing (it reads as the fill value).
  std::optional<Bytes> read_payload(const Shape& chunk_index) const;
  // Stores `payload`, a payload of an array that payload_obstacle() accepts for this one, as the
  // chunk (zarr3: in a shard of its own); returns the stored size.
  uint64_t write_payload(const Shape& chunk_index, std::span<const std::byte> payload) const;
  // Writes a whole dense C-order array chunk by chunk (padding edge chunks with zeros).
  void write_all(std::span<const std::byte> data) const;

 private:
  ZarrArray(std::shared_ptr<const kv::KvStore> store, std::shared_ptr<kv::KvStore> writable,
            std::string prefix, ArrayMetadata metadata)
      : store_(std::move(store)),
        writable_(std::move(writable)),
        prefix_(std::move(prefix)),
        metadata_(std::move(metadata)) {}
  std::unique_ptr<ChunkReader> stored_chunk_reader(const std::string& key) const;
  std::shared_ptr<const kv::KvStore> store_;
  std::shared_ptr<kv::KvStore> writable_;  // null for arrays opened for reading
  std::string prefix_;
  ArrayMetadata metadata_;
};

// The box of chunk `chunk_index` in the array, cut at the array's far edges.
Box chunk_box(const ArrayMetadata& metadata, const Shape& chunk_index);

// Calls `visit` with the index of every chunk overlapping `box`, in C order.
void for_each_chunk_in_box(const ArrayMetadata& metadata, const Box& box,
                           const std::function<void(const Shape& chunk_index)>& visit);

}  // namespace te::zarr
