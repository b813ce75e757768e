#pragma once
// Chunk payloads: moving a chunk between zarr v2 and zarr3 without decoding it. The payload of an
// executor chunk (v3_array_metadata.h) is the output of its one compressor over the chunk's
// C-order little-endian element bytes, or those bytes themselves when there is no compressor:
//   zarr v2            the chunk value (compressor zstd, gzip, blosc, zlib, bz2 or none);
//   zarr3 unsharded    the chunk value, codecs [bytes little] + at most one of zstd/gzip/blosc;
//   zarr3 sharded      the inner chunk's byte range of the shard, the inner codecs as above.
// A zstd frame, a gzip member or a blosc frame decodes the same whichever zarr version's metadata
// names it (the level, checksum and shuffle settings are encoder choices, read back from the
// frame), so two arrays of the same dtype, shape and executor chunk whose payloads come from the
// same compressor hold interchangeable payloads: a payload moved from one to the other decodes to
// the same elements. A transpose, a big-endian bytes codec, a crc32c inner codec, two compressors
// or an F-order v2 array make payloads that are not plain compressor output: they are re-encoded.
#include <optional>
#include <string>

#include "zarr/metadata.h"

namespace te::zarr {

// Why the payloads of `m` are not one compressor's plain output ("a transpose codec"), or nullopt.
std::optional<std::string> payload_form_obstacle(const ArrayMetadata& m);

// Why executor chunks of `from` cannot be moved into `to` as payloads ("the compression differs:
// zstd here, gzip there"), or nullopt when they can.
std::optional<std::string> payload_obstacle(const ArrayMetadata& from, const ArrayMetadata& to);

}  // namespace te::zarr
