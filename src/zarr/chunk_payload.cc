#include "zarr/chunk_payload.h"

#include <fmt/format.h>

#include "zarr/v3_array_metadata.h"
#include "zarr/v3_metadata.h"

namespace te::zarr {
namespace {

// The compressor a payload of `m` comes from ("none", "zstd", "gzip", "blosc", "zlib", "bz2"), or
// why the payload is not one compressor's output over C-order little-endian bytes.
struct PayloadForm {
  std::string compressor;
  std::string obstacle;  // empty: a plain payload
};

PayloadForm v3_form(const v3::CodecChain& chain) {
  PayloadForm f{"none", ""};
  int compressors = 0;
  for (const v3::V3Codec& c : chain.codecs) {
    switch (c.kind) {
      case v3::V3Codec::Kind::kTranspose:
        return {"", "a transpose codec"};
      case v3::V3Codec::Kind::kSharding:
        return {"", "nested sharding"};
      case v3::V3Codec::Kind::kCrc32c:
        return {"", "a crc32c chunk codec"};
      case v3::V3Codec::Kind::kBytes:
        if (c.endian == Endian::kBig) return {"", "a big-endian bytes codec"};
        break;
      case v3::V3Codec::Kind::kZstd:
      case v3::V3Codec::Kind::kGzip:
      case v3::V3Codec::Kind::kBlosc:
        if (++compressors > 1) return {"", "two compression codecs"};
        f.compressor = c.kind == v3::V3Codec::Kind::kZstd   ? "zstd"
                       : c.kind == v3::V3Codec::Kind::kGzip ? "gzip"
                                                            : "blosc";
        break;
    }
  }
  return f;
}

PayloadForm form_of(const ArrayMetadata& m) {
  if (!m.v3) {
    if (m.order != 'C') return {"", "Fortran order"};
    if (m.dtype.endian == Endian::kBig) return {"", "a big-endian dtype"};
    return {m.codec->id() == "null" ? "none" : m.codec->id(), ""};
  }
  const v3::V3Metadata& v3 = *m.v3;
  if (v3::reads_inner_chunks(v3)) return v3_form(*v3.codecs.codecs[0].sharding->codecs);
  return v3_form(v3.codecs);
}

std::string version(const ArrayMetadata& m) {
  return m.v3 ? "zarr3" : "zarr v2";
}

}  // namespace

std::optional<std::string> payload_form_obstacle(const ArrayMetadata& m) {
  const PayloadForm f = form_of(m);
  if (f.obstacle.empty()) return std::nullopt;
  return fmt::format("{} with {}", version(m), f.obstacle);
}

std::optional<std::string> payload_obstacle(const ArrayMetadata& from, const ArrayMetadata& to) {
  if (!(from.dtype == to.dtype)) {
    return fmt::format("the dtype differs: {} here, {} there", from.dtype.zarr, to.dtype.zarr);
  }
  if (from.shape != to.shape || from.chunks != to.chunks) {
    return fmt::format("the chunk grid differs: {} in chunks {} here, {} in chunks {} there",
                       shape_string(from.shape), shape_string(from.chunks), shape_string(to.shape),
                       shape_string(to.chunks));
  }
  const PayloadForm a = form_of(from), b = form_of(to);
  if (!a.obstacle.empty()) return fmt::format("the source ({}) has {}", version(from), a.obstacle);
  if (!b.obstacle.empty()) return fmt::format("the target ({}) has {}", version(to), b.obstacle);
  if (a.compressor != b.compressor) {
    return fmt::format("the compression differs: {} here, {} there", a.compressor, b.compressor);
  }
  return std::nullopt;
}

}  // namespace te::zarr
