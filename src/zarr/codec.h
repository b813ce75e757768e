#pragma once
// Chunk codecs of the TensorStore zarr v2 driver: null, gzip, zlib, zstd, blosc, bz2.
//
// A chunk is one compressed blob of exactly `decoded_size` bytes. Codecs stream: a ChunkDecoder
// pulls compressed bytes from a ByteSource and hands out decoded bytes in any piece sizes, and a
// ChunkEncoder takes decoded bytes in pieces and pushes compressed bytes to a ByteSink. So a
// chunk never has to be held whole, compressed or decoded (codecs whose format cannot stream,
// blosc, buffer internally). Decoders and encoders of distinct chunks are independent objects and
// may run on different threads at once.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "util/byte_stream.h"
#include "util/bytes.h"

namespace te::zarr {

class ChunkDecoder {
 public:
  virtual ~ChunkDecoder() = default;
  // Fills `out` with the next out.size() decoded bytes. Throws te::Error naming the source when the
  // data is corrupt or ends early.
  virtual void read(std::span<std::byte> out) = 0;
  // Checks that exactly `decoded_size` bytes were decoded and that the compressed data ends here.
  virtual void finish() = 0;
};

class ChunkEncoder {
 public:
  virtual ~ChunkEncoder() = default;
  virtual void write(std::span<const std::byte> data) = 0;
  // Writes the end of the compressed stream. Exactly `decoded_size` bytes must have been written.
  virtual void finish() = 0;
};

class Codec {
 public:
  virtual ~Codec() = default;
  // The `compressor` member of .zarray (null for the raw codec), with every default member
  // spelled out as TensorStore persists it.
  virtual nlohmann::json to_json() const = 0;
  // "gzip", "zstd", ... or "null".
  virtual std::string id() const = 0;
  virtual std::unique_ptr<ChunkDecoder> decoder(ByteSource& source, size_t decoded_size) const = 0;
  virtual std::unique_ptr<ChunkEncoder> encoder(ByteSink& sink, size_t decoded_size,
                                                size_t itemsize) const = 0;

  // Whole-buffer conveniences built on the streams.
  Bytes decode(std::span<const std::byte> compressed, size_t decoded_size,
               const std::string& name) const;
  Bytes encode(std::span<const std::byte> data, size_t itemsize) const;
};

// Builds the codec a .zarray `compressor` member describes (null → raw). Throws te::Error naming
// `where` for an unknown id or invalid parameters.
std::shared_ptr<const Codec> codec_from_json(const nlohmann::json& compressor,
                                             const std::string& where);

// The codec named on the command line: "gzip", "zlib", "zstd", "none", optionally with a level
// (nullopt: level 1). The level is range-checked for the codec (gzip and zlib 0..9, zstd
// zstd_level_range()); a level for "none" is an error. Errors name --compression-level.
std::shared_ptr<const Codec> codec_from_name(const std::string& name, std::optional<int64_t> level);

// The compression levels libzstd accepts: ZSTD_minCLevel() .. ZSTD_maxCLevel().
std::pair<int, int> zstd_level_range();

// Factories, one per codec file.
std::shared_ptr<const Codec> make_null_codec();
std::shared_ptr<const Codec> make_deflate_codec(bool gzip, int level);
std::shared_ptr<const Codec> make_zstd_codec(int level);
std::shared_ptr<const Codec> make_blosc_codec(const std::string& cname, int clevel, int shuffle,
                                              int blocksize);
std::shared_ptr<const Codec> make_bz2_codec(int level);

}  // namespace te::zarr
