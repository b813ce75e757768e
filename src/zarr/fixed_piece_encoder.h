#pragma once
// Makes a chunk's compressed bytes a function of its decoded bytes alone. Streaming encoders
// (ISA-L's deflate in particular) may emit different, equally valid, streams for the same input
// when it arrives in differently sized pieces, and how a chunk's bytes arrive depends on the
// execution path (slab streaming, whole-chunk blocks, thread count). This encoder hands its
// inner encoder the decoded bytes in pieces of exactly kEncoderPieceBytes (the last one shorter),
// whatever the caller's write sizes, so every path writes the same bytes. It copies only the
// bytes of a piece that straddles two writes, and holds at most one piece (or the whole chunk,
// when that is smaller).
#include <memory>

#include "zarr/codec.h"

namespace te::zarr {

inline constexpr size_t kEncoderPieceBytes = 256 << 10;

// `codec.encoder(sink, decoded_size, itemsize)`, fed in fixed pieces.
std::unique_ptr<ChunkEncoder> fixed_piece_encoder(const Codec& codec, ByteSink& sink,
                                                  size_t decoded_size, size_t itemsize);

}  // namespace te::zarr
