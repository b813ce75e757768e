#pragma once
// The zarr v3 codec pipeline as TensorStore reads and writes it: array→array `transpose`,
// array→bytes `bytes` (endian) or `sharding_indexed` (sharding.h), bytes→bytes `zstd`, `gzip`,
// `blosc`, `crc32c`. A CodecChain is parsed from the `codecs` member of zarr.json (validated: any
// transposes, exactly one array→bytes codec, any bytes→bytes codecs, in that order) and emitted in
// TensorStore's stored form (every default filled in, keys sorted by nlohmann::json).
//
// Decoded arrays are always the C-order bytes of the whole array (chunk) with every element in
// its DType's little-endian form; a stored value is held whole in memory (no streaming yet).
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "zarr/dtype.h"

namespace te::zarr::v3 {

struct CodecChain;

// `sharding_indexed`: the outer chunk (shard) is a grid of inner chunks of `chunk_shape`, each
// encoded with `codecs`, followed (or preceded) by an index of (offset, nbytes) uint64 pairs per
// inner chunk in C order, encoded with `index_codecs`.
struct ShardingConfig {
  Shape chunk_shape;
  std::shared_ptr<const CodecChain> codecs;
  std::shared_ptr<const CodecChain> index_codecs;
  bool index_at_end = true;  // index_location "end" (the default, not written) or "start"
};

struct V3Codec {
  enum class Kind { kTranspose, kBytes, kSharding, kZstd, kGzip, kBlosc, kCrc32c };
  enum class Shuffle { kNone = 0, kByte = 1, kBit = 2 };  // blosc's own numbering
  Kind kind = Kind::kBytes;
  std::vector<int64_t> order;              // transpose: encoded dim i = decoded dim order[i]
  Endian endian = Endian::kNotApplicable;  // bytes: kNotApplicable for 1-byte types
  int level = 0;                           // zstd (default 3), gzip (default 6)
  bool checksum = false;                   // zstd
  std::string cname;                       // blosc (default "lz4")
  int clevel = 5;                          // blosc
  Shuffle shuffle = Shuffle::kByte;        // blosc
  int typesize = 1;                        // blosc (not written with noshuffle)
  int blocksize = 0;                       // blosc
  std::shared_ptr<const ShardingConfig> sharding;

  bool is_array_to_array() const { return kind == Kind::kTranspose; }
  bool is_array_to_bytes() const { return kind == Kind::kBytes || kind == Kind::kSharding; }
  nlohmann::json to_json() const;
};

struct CodecChain {
  std::vector<V3Codec> codecs;
  nlohmann::json to_json() const;
  // The one array→bytes codec.
  const V3Codec& array_to_bytes() const;
  // The shape the array→bytes codec sees for a decoded array of `shape` (after the transposes).
  Shape encoded_shape(const Shape& shape) const;
};

// Parses a `codecs` list for arrays of `dtype` and `rank`; throws te::Error naming `where`.
CodecChain parse_codec_chain(const nlohmann::json& codecs, const DType& dtype, size_t rank,
                             const std::string& where);

// Convenience constructors (defaults as TensorStore fills them in).
V3Codec bytes_codec(const DType& dtype, Endian endian = Endian::kLittle);
V3Codec transpose_codec(std::vector<int64_t> order);
V3Codec zstd_codec(int level = 3, bool checksum = false);
V3Codec gzip_codec(int level = 6);
V3Codec blosc_codec(const DType& dtype, std::string cname = "lz4", int clevel = 5,
                    std::optional<V3Codec::Shuffle> shuffle = std::nullopt, int blocksize = 0);
V3Codec crc32c_codec();
V3Codec sharding_codec(Shape inner_chunk_shape, CodecChain inner, CodecChain index,
                       bool index_at_end = true);
// The index codecs Orbax and TensorStore use: bytes little endian + crc32c.
CodecChain default_index_codecs();

struct EncodeOptions {
  // false (Orbax: store_data_equal_to_fill_value): every inner chunk of a shard is written;
  // true: inner chunks equal to the fill value are left out of the shard (index 2^64-1).
  bool skip_fill_inner_chunks = false;
};

// Decodes the stored bytes of one chunk of `shape` into C-order little-endian element bytes.
// `fill` (one element) fills missing inner chunks. Errors name `what` (the key).
Bytes decode_chunk(const CodecChain& chain, const DType& dtype, const Shape& shape,
                   std::span<const std::byte> stored, std::span<const std::byte> fill,
                   const std::string& what);
// The inverse of decode_chunk; `decoded` holds num_elements(shape) * itemsize bytes.
Bytes encode_chunk(const CodecChain& chain, const DType& dtype, const Shape& shape,
                   std::span<const std::byte> decoded, std::span<const std::byte> fill,
                   const std::string& what, const EncodeOptions& options = {});

// The encoded size of `decoded_size` bytes when every bytes→bytes codec has a fixed size
// (crc32c: +4) and the array→bytes codec is `bytes`; nullopt otherwise.
std::optional<uint64_t> fixed_encoded_size(const CodecChain& chain, uint64_t decoded_size);

}  // namespace te::zarr::v3
