#pragma once
// zarr3 arrays behind the zarr v2 ArrayMetadata that plan/ and exec/ work on, so that they need
// not know the zarr version: the view of a zarr.json as an ArrayMetadata (its `v3` member keeps
// the stored form), and the zarr3 metadata of a new array, derived from a source array's zarr3
// form (a rearranged output keeps its source's codecs) or made equivalent to a zarr v2 one
// (changing a v2 checkpoint into zarr3).
//
// The chunk the executor reads and writes ("executor chunk", ArrayMetadata::chunks) is the inner
// chunk when the array's codecs are exactly one sharding_indexed codec (Orbax's form, and what
// TensorStore's zarr3 driver reads by byte ranges through the shard index), otherwise the stored
// chunk. New arrays are written with one inner chunk per shard (shard = inner chunk = the
// executor chunk, what Orbax writes for a single process), so distinct executor chunks are
// distinct stored values and concurrent writers never share a shard.
#include <memory>
#include <string>

#include "zarr/codec.h"
#include "zarr/metadata.h"
#include "zarr/v3_metadata.h"

namespace te::zarr::v3 {

// True when the executor chunk of the array is the sharding_indexed inner chunk.
bool reads_inner_chunks(const V3Metadata& metadata);

// The ArrayMetadata view of a zarr3 array (see metadata.h); checks te-ckpt's size limits, errors
// naming `where` (the zarr.json key).
ArrayMetadata array_metadata_of(V3Metadata metadata, const std::string& where);

// The zarr3 form of a new array of `shape`, executor chunk `chunks`, made from the source `like`:
// its data_type, fill_value, chunk key encoding, attributes, endianness and compression codecs
// (with `recode`, a zarr v2 codec such as --compressor's, instead of the compression), sharded
// when `like` is (one inner chunk of `chunks` per shard, index codecs and location kept);
// transpose codecs and dimension_names are dropped (they describe the source's axes). Throws
// te::Error naming `where` when `recode` has no zarr3 equivalent (zlib, bz2).
ArrayMetadata derive_v3_array(const V3Metadata& like, Shape shape, Shape chunks,
                              const Codec* recode, const std::string& where);

// The zarr3 array Orbax would write for a zarr v2 array: same shape, dtype and chunk (one inner
// chunk per shard), sharding_indexed with bytes little endian + the v2 codec's zarr3 equivalent,
// index bytes + crc32c at the end, fill value zero. Its chunks hold the same decoded bytes, so the
// executor copies between them unchanged. Throws te::Error naming `where` for a big-endian dtype
// or a codec without a zarr3 equivalent (zlib, bz2).
ArrayMetadata v3_equivalent_of(const ArrayMetadata& v2, const std::string& where);

// The zarr3 codec for a zarr v2 compressor; nullopt for the null codec. Throws for zlib and bz2.
std::optional<V3Codec> v3_compression_of(const Codec& codec, const DType& dtype,
                                         const std::string& where);

// The stored form for listings: "sharding_indexed(bytes+zstd/3) inner [4,8]", "bytes+gzip/6".
std::string describe_v3_codecs(const V3Metadata& metadata);

}  // namespace te::zarr::v3
