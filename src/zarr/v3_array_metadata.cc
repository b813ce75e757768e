#include "zarr/v3_array_metadata.h"

#include <fmt/format.h>

#include "util/error.h"

namespace te::zarr::v3 {
namespace {

using Kind = V3Codec::Kind;

bool is_compression(const V3Codec& c) {
  return c.kind == Kind::kZstd || c.kind == Kind::kGzip || c.kind == Kind::kBlosc;
}

// The chain whose bytes->bytes codecs compress the chunk data: the inner chain of a sharded
// array, else the array's own chain.
const CodecChain& data_chain(const CodecChain& chain) {
  const V3Codec& ab = chain.array_to_bytes();
  return ab.kind == Kind::kSharding ? *ab.sharding->codecs : chain;
}

// The zarr v2 codec doing what the chain's compression does (informational and for FP8 arrays
// and listings; zarr3 chunks are always encoded by the zarr3 chain itself).
std::shared_ptr<const Codec> v2_equivalent(const CodecChain& chain) {
  for (const auto& c : data_chain(chain).codecs) {
    switch (c.kind) {
      case Kind::kZstd:
        return make_zstd_codec(c.level);
      case Kind::kGzip:
        return make_deflate_codec(true, c.level);
      case Kind::kBlosc:
        return make_blosc_codec(c.cname, c.clevel, static_cast<int>(c.shuffle), c.blocksize);
      default:
        break;
    }
  }
  return make_null_codec();
}

// `chain` without transposes, its compression replaced by `compression` when `recode`; its
// sharding codec with inner chunks `inner_chunks` (nullopt: kept, for nested chains).
CodecChain rebuilt_chain(const CodecChain& chain, bool recode,
                         const std::optional<V3Codec>& compression,
                         const std::optional<Shape>& inner_chunks) {
  CodecChain out;
  bool placed = false;
  for (const auto& c : chain.codecs) {
    if (c.is_array_to_array()) continue;
    if (c.kind == Kind::kSharding) {
      const ShardingConfig& s = *c.sharding;
      out.codecs.push_back(
          sharding_codec(inner_chunks.value_or(s.chunk_shape),
                         rebuilt_chain(*s.codecs, recode, compression, std::nullopt),
                         *s.index_codecs, s.index_at_end));
      continue;
    }
    if (recode && is_compression(c)) {
      if (compression && !placed) out.codecs.push_back(*compression);
      placed = true;
      continue;
    }
    out.codecs.push_back(c);
  }
  // A chain without compression gets the new one right after its array->bytes codec.
  if (recode && compression && !placed && out.codecs.back().kind == Kind::kBytes) {
    size_t at = 0;
    while (!out.codecs[at].is_array_to_bytes()) ++at;
    out.codecs.insert(out.codecs.begin() + static_cast<std::ptrdiff_t>(at) + 1, *compression);
  }
  return out;
}

std::string chain_text(const CodecChain& chain) {
  std::string out;
  for (const auto& c : chain.codecs) {
    if (!out.empty()) out += '+';
    switch (c.kind) {
      case Kind::kTranspose:
        out += "transpose";
        break;
      case Kind::kBytes:
        out += c.endian == Endian::kBig ? "bytes(big)" : "bytes";
        break;
      case Kind::kSharding:
        out += fmt::format("sharding_indexed({})", chain_text(*c.sharding->codecs));
        break;
      case Kind::kZstd:
        out += fmt::format("zstd/{}", c.level);
        break;
      case Kind::kGzip:
        out += fmt::format("gzip/{}", c.level);
        break;
      case Kind::kBlosc:
        out += fmt::format("blosc/{}/{}", c.clevel, c.cname);
        break;
      case Kind::kCrc32c:
        out += "crc32c";
        break;
    }
  }
  return out;
}

}  // namespace

bool reads_inner_chunks(const V3Metadata& m) {
  return m.codecs.codecs.size() == 1 && m.codecs.codecs[0].kind == Kind::kSharding;
}

ArrayMetadata array_metadata_of(V3Metadata v3, const std::string& where) {
  ArrayMetadata m;
  m.shape = v3.shape;
  m.chunks = reads_inner_chunks(v3) ? v3.codecs.codecs[0].sharding->chunk_shape : v3.chunk_shape;
  m.dtype = v3.dtype;
  m.codec = v2_equivalent(v3.codecs);
  m.fill_value = v3.fill_value;
  m.fill_value_is_null = false;
  m.order = 'C';
  m.dimension_separator = v3.chunk_key_encoding.separator;
  m.check_sizes(where);
  // A shard is decoded whole when its inner chunks are not read one by one.
  ArrayMetadata stored = m;
  stored.chunks = v3.chunk_shape;
  stored.check_sizes(where);
  m.v3 = std::make_shared<const V3Metadata>(std::move(v3));
  return m;
}

std::optional<V3Codec> v3_compression_of(const Codec& codec, const DType& dtype,
                                         const std::string& where) {
  const std::string id = codec.id();
  const nlohmann::json j = codec.to_json();
  if (id == "null") return std::nullopt;
  if (id == "zstd") return zstd_codec(j.value("level", 1), false);
  if (id == "gzip") return gzip_codec(j.value("level", 1));
  if (id == "blosc") {
    int shuffle = j.value("shuffle", -1);
    std::optional<V3Codec::Shuffle> s;
    if (shuffle >= 0) s = static_cast<V3Codec::Shuffle>(shuffle);
    return blosc_codec(dtype, j.value("cname", std::string("lz4")), j.value("clevel", 5), s,
                       j.value("blocksize", 0));
  }
  fail("{}: zarr3 has no {} codec (zarr3 compresses with zstd, gzip or blosc, or not at all)",
       where, id);
}

ArrayMetadata derive_v3_array(const V3Metadata& like, Shape shape, Shape chunks,
                              const Codec* recode, const std::string& where) {
  V3Metadata m;
  m.shape = std::move(shape);
  m.dtype = like.dtype;
  m.chunk_shape = chunks;
  m.chunk_key_encoding = like.chunk_key_encoding;
  m.fill_value = like.fill_value;
  m.attributes = like.attributes;
  std::optional<V3Codec> compression;
  if (recode) compression = v3_compression_of(*recode, like.dtype, where);
  m.codecs = rebuilt_chain(like.codecs, recode != nullptr, compression, chunks);
  return array_metadata_of(std::move(m), where);
}

ArrayMetadata v3_equivalent_of(const ArrayMetadata& v2, const std::string& where) {
  if (v2.dtype.endian == Endian::kBig) {
    fail("{}: dtype {} is big-endian; te-ckpt writes zarr3 arrays only from little-endian data",
         where, v2.dtype.zarr);
  }
  V3Metadata m = orbax_v3_metadata(v2.dtype, v2.shape, v2.chunks, std::nullopt);
  auto compression = v3_compression_of(*v2.codec, v2.dtype, where);
  if (compression) {
    m.codecs = rebuilt_chain(m.codecs, true, compression, v2.chunks);
  }
  return array_metadata_of(std::move(m), where);
}

std::string describe_v3_codecs(const V3Metadata& m) {
  std::string out = chain_text(m.codecs);
  if (out.empty()) out = "none";
  const V3Codec& ab = m.codecs.array_to_bytes();
  if (ab.kind == Kind::kSharding) {
    out += fmt::format(" shard {} inner {}", shape_string(m.chunk_shape),
                       shape_string(ab.sharding->chunk_shape));
  }
  return out;
}

}  // namespace te::zarr::v3
