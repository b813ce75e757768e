#pragma once
// A zarr v2 array on disk: its metadata plus chunk-level and region-level I/O. Reads and writes of
// distinct chunks are independent and may run concurrently from several threads.
#include <filesystem>
#include <functional>
#include <memory>
#include <span>

#include "util/bytes.h"
#include "util/file.h"
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

// Streams one chunk's decoded bytes (C order, full padded chunk) into a new chunk file.
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  virtual void write(std::span<const std::byte> data) = 0;
  // Ends the stream and closes the file; returns the stored (compressed) size.
  virtual uint64_t finish() = 0;
};

class ZarrArray {
 public:
  // Opens the array in `dir`, reading `dir/.zarray`.
  static ZarrArray open(const fs::path& dir);
  // Opens an array whose metadata is known from elsewhere (a T5X index spec without .zarray).
  static ZarrArray open_with_metadata(const fs::path& dir, ArrayMetadata metadata);
  // Creates `dir` and writes TensorStore's .zarray for `metadata`, normalised to TensorStore's
  // form of a new array (C order, "." separator, null fill value).
  static ZarrArray create(const fs::path& dir, ArrayMetadata metadata);

  const ArrayMetadata& metadata() const { return metadata_; }
  const fs::path& path() const { return dir_; }
  fs::path chunk_path(const Shape& chunk_index) const;

  // A streaming reader over a C-order chunk. For 'F'-order arrays use read_chunk().
  std::unique_ptr<ChunkReader> open_chunk(const Shape& chunk_index) const;
  // The whole decoded chunk in C order (Fortran-order chunks are transposed).
  Bytes read_chunk(const Shape& chunk_index) const;
  // Reads `box` into `out` (dense, C order, box.size elements).
  void read_region(const Box& box, std::span<std::byte> out) const;
  // Reads the whole array (small arrays only: tests, inspect, inline data).
  Bytes read_all() const;

  std::unique_ptr<ChunkWriter> open_chunk_writer(const Shape& chunk_index) const;
  // Encodes and writes one full (padded) chunk; returns the stored size.
  uint64_t write_chunk(const Shape& chunk_index, std::span<const std::byte> data) const;
  // Writes a whole dense C-order array chunk by chunk (padding edge chunks with zeros).
  void write_all(std::span<const std::byte> data) const;

 private:
  ZarrArray(fs::path dir, ArrayMetadata metadata)
      : dir_(std::move(dir)), metadata_(std::move(metadata)) {}
  fs::path dir_;
  ArrayMetadata metadata_;
};

// Calls `visit` with the index of every chunk overlapping `box`, in C order.
void for_each_chunk_in_box(const ArrayMetadata& metadata, const Box& box,
                           const std::function<void(const Shape& chunk_index)>& visit);

}  // namespace te::zarr
