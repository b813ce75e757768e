#pragma once
// Chunk copies: a TransformJob whose every output chunk is exactly one input chunk, byte for byte
// (encoded bytes included), runs as copies of stored chunk values under new keys instead of
// decoding and encoding. This file decides copyability from the rearrangement and the arrays'
// metadata, maps output chunks to their source chunks, and proposes output chunk shapes that
// make a job copyable.
//
// Model. Every array is a view of the rearrangement's virtual tensor V (transform/rearrangement.h).
// A chunk of an array covers, along every V axis `a`, an extent ext(a): along a zarr axis that
// merges V axes [a0, a1, .., ak] (C order) with chunk c, c must cover a1..ak whole (c a multiple
// of their product P); then ext(a0) = c / P and ext(ak) = size(ak); a V axis the array does not
// hold (size 1, or the stack axis of a stack member) has ext 1. The chunk's decoded bytes are its
// elements in memory order: the V axes in zarr-axis order (reversed zarr axes for order 'F'),
// each merged axis from a0 to ak; axes of ext 1 do not change the order. Two chunks hold the same
// decoded bytes (padding included: the padding of an edge chunk lies where a V coordinate reaches
// past its size, at the same positions in both) iff ext(a) agrees on every V axis and the axes of
// ext > 1 come in the same memory order. Their encoded bytes are then interchangeable iff dtype
// (byte order included) and codec (with every parameter, level included) agree. A missing input
// chunk leaves the output chunk missing: both arrays' fill values must then be the same bytes.
// zarr3 arrays take part through their payloads (zarr/chunk_payload.h: an executor chunk is an
// inner chunk of a shard, moved as its compressed bytes), when those are plain compressor output;
// their `codec` member is the v2 form of the inner compression, so the codec check above covers
// a zarr v2 <-> zarr3 pair as well.
#include <optional>
#include <string>
#include <vector>

#include "transform/rearrangement.h"
#include "zarr/metadata.h"

namespace te::plan {

// Why the job's output chunks are not copies of its input chunks ("codec differs: ..."), or
// nullopt when every output chunk is exactly one input chunk with identical stored bytes.
// `inputs` and `outputs` follow the rearrangement's views.
std::optional<std::string> chunk_copy_obstacle(const transform::Rearrangement& r,
                                               const std::vector<zarr::ArrayMetadata>& inputs,
                                               const std::vector<zarr::ArrayMetadata>& outputs);

// The input chunk whose stored bytes are output `output`'s chunk `output_chunk`, for a job that
// chunk_copy_obstacle() accepted.
struct ChunkSource {
  size_t input = 0;
  Shape chunk;
};
ChunkSource source_chunk(const transform::Rearrangement& r, size_t output,
                         const Shape& output_chunk);

// The output chunk shape that gives output `output` the same chunk extents as the inputs (chunk 1
// along a new stack axis), or nullopt when the inputs' chunks do not agree along some V axis or
// do not cover a merged axis whole. The job is then copyable when the memory orders agree too.
std::optional<Shape> copyable_chunks(const transform::Rearrangement& r, size_t output,
                                     const std::vector<zarr::ArrayMetadata>& inputs);

}  // namespace te::plan
