#include "zarr/v3_codecs.h"

#include <blosc.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "kvstore/ocdbt/format/crc32c.h"
#include "util/error.h"
#include "util/strided_copy.h"
#include "zarr/codec.h"
#include "zarr/sharding.h"
#include "zarr/v3_data_type.h"

namespace te::zarr::v3 {
namespace {

using Kind = V3Codec::Kind;

const nlohmann::json& configuration(const nlohmann::json& codec) {
  static const nlohmann::json empty = nlohmann::json::object();
  auto it = codec.find("configuration");
  return it == codec.end() ? empty : *it;
}

int int_member(const nlohmann::json& config, const char* key, int fallback, int lo, int hi,
               const std::string& where, const std::string& codec) {
  auto it = config.find(key);
  if (it == config.end()) return fallback;
  if (!it->is_number_integer()) {
    fail("{}: codec \"{}\" member \"{}\" must be an integer, found {}", where, codec, key,
         it->dump());
  }
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    fail("{}: codec \"{}\" member \"{}\" is {}, expected {}..{}", where, codec, key, v, lo, hi);
  }
  return static_cast<int>(v);
}

void no_unknown_members(const nlohmann::json& config, std::initializer_list<const char*> known,
                        const std::string& where, const std::string& codec) {
  if (!config.is_object()) fail("{}: codec \"{}\": configuration must be an object", where, codec);
  for (const auto& item : config.items()) {
    const std::string& key = item.key();  // a named variable: clang 14 cannot capture bindings
    if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) ==
        known.end()) {
      fail("{}: codec \"{}\" has an unknown configuration member \"{}\"", where, codec, key);
    }
  }
}

bool endian_invariant(const DType& dtype) {
  return dtype.itemsize == 1 || dtype.kind == 'V';
}

// Element byte-order swap between little and big endian (complex: per component).
void swap_elements(Bytes& data, const DType& dtype) {
  size_t unit = dtype.kind == 'c' ? dtype.itemsize / 2 : dtype.itemsize;
  if (unit <= 1 || dtype.kind == 'V') return;
  for (size_t i = 0; i + unit <= data.size(); i += unit) std::reverse(&data[i], &data[i + unit]);
}

V3Codec parse_codec(const nlohmann::json& j, const DType& dtype, size_t rank,
                    const std::string& where) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    fail("{}: each codec must be an object with a string \"name\", found {}", where, j.dump());
  }
  const std::string name = j["name"].get<std::string>();
  for (const auto& [key, value] : j.items()) {
    if (key != "name" && key != "configuration") {
      fail("{}: codec \"{}\" has an unknown member \"{}\"", where, name, key);
    }
  }
  const nlohmann::json& config = configuration(j);
  V3Codec c;
  if (name == "transpose") {
    no_unknown_members(config, {"order"}, where, name);
    c.kind = Kind::kTranspose;
    auto it = config.find("order");
    if (it == config.end()) fail("{}: codec \"transpose\" needs an \"order\"", where);
    if (it->is_string() && (*it == "C" || *it == "F")) {
      for (size_t i = 0; i < rank; ++i) {
        c.order.push_back(static_cast<int64_t>(*it == "C" ? i : rank - 1 - i));
      }
    } else {
      std::vector<bool> seen(rank, false);
      bool ok = it->is_array() && it->size() == rank;
      if (ok) {
        for (const auto& d : *it) {
          if (!d.is_number_integer() || d.get<int64_t>() < 0 ||
              d.get<int64_t>() >= static_cast<int64_t>(rank) || seen[d.get<size_t>()]) {
            ok = false;
            break;
          }
          seen[d.get<size_t>()] = true;
          c.order.push_back(d.get<int64_t>());
        }
      }
      if (!ok) {
        fail("{}: codec \"transpose\" order {} is not a permutation of the {} dimensions", where,
             it->dump(), rank);
      }
    }
  } else if (name == "bytes") {
    no_unknown_members(config, {"endian"}, where, name);
    c.kind = Kind::kBytes;
    auto it = config.find("endian");
    if (it != config.end()) {
      if (*it != "little" && *it != "big") {
        fail("{}: codec \"bytes\" endian {} must be \"little\" or \"big\"", where, it->dump());
      }
      if (!endian_invariant(dtype)) c.endian = *it == "little" ? Endian::kLittle : Endian::kBig;
    } else if (!endian_invariant(dtype)) {
      fail("{}: codec \"bytes\" needs \"endian\" for data_type {}", where, v3_name(dtype));
    }
  } else if (name == "zstd") {
    no_unknown_members(config, {"level", "checksum"}, where, name);
    c.kind = Kind::kZstd;
    c.level = int_member(config, "level", 3, ZSTD_minCLevel(), ZSTD_maxCLevel(), where, name);
    if (auto it = config.find("checksum"); it != config.end()) {
      if (!it->is_boolean()) fail("{}: codec \"zstd\" checksum must be true or false", where);
      c.checksum = it->get<bool>();
    }
  } else if (name == "gzip") {
    no_unknown_members(config, {"level"}, where, name);
    c.kind = Kind::kGzip;
    c.level = int_member(config, "level", 6, 0, 9, where, name);
  } else if (name == "blosc") {
    no_unknown_members(config, {"cname", "clevel", "shuffle", "typesize", "blocksize"}, where,
                       name);
    c.kind = Kind::kBlosc;
    c.cname = "lz4";
    if (auto it = config.find("cname"); it != config.end()) {
      static const char* kNames[] = {"blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"};
      if (!it->is_string() || std::find(std::begin(kNames), std::end(kNames),
                                        it->get<std::string>()) == std::end(kNames)) {
        fail("{}: codec \"blosc\" cname {} is not one of blosclz, lz4, lz4hc, snappy, zlib, zstd",
             where, it->dump());
      }
      c.cname = it->get<std::string>();
    }
    c.clevel = int_member(config, "clevel", 5, 0, 9, where, name);
    c.blocksize = int_member(config, "blocksize", 0, 0, 1 << 30, where, name);
    std::optional<V3Codec::Shuffle> shuffle;
    if (auto it = config.find("shuffle"); it != config.end()) {
      if (*it == "noshuffle") {
        shuffle = V3Codec::Shuffle::kNone;
      } else if (*it == "shuffle") {
        shuffle = V3Codec::Shuffle::kByte;
      } else if (*it == "bitshuffle") {
        shuffle = V3Codec::Shuffle::kBit;
      } else {
        fail("{}: codec \"blosc\" shuffle {} must be \"noshuffle\", \"shuffle\" or \"bitshuffle\"",
             where, it->dump());
      }
    }
    int typesize = int_member(config, "typesize", 0, 1, BLOSC_MAX_TYPESIZE, where, name);
    if (typesize == 0) typesize = static_cast<int>(std::min<size_t>(dtype.itemsize, 255));
    c.typesize = typesize;
    c.shuffle = shuffle.value_or(typesize == 1 ? V3Codec::Shuffle::kBit : V3Codec::Shuffle::kByte);
  } else if (name == "crc32c") {
    no_unknown_members(config, {}, where, name);
    c.kind = Kind::kCrc32c;
  } else if (name == "sharding_indexed") {
    no_unknown_members(config, {"chunk_shape", "codecs", "index_codecs", "index_location"}, where,
                       name);
    c.kind = Kind::kSharding;
    auto cfg = std::make_shared<ShardingConfig>();
    auto shape = config.find("chunk_shape");
    if (shape == config.end() || !shape->is_array() || shape->size() != rank) {
      fail("{}: codec \"sharding_indexed\" needs a chunk_shape of {} dimensions", where, rank);
    }
    for (const auto& d : *shape) {
      if (!d.is_number_integer() || d.get<int64_t>() < 1) {
        fail("{}: sharding_indexed chunk_shape {} must hold positive integers", where,
             shape->dump());
      }
      cfg->chunk_shape.push_back(d.get<int64_t>());
    }
    auto inner = config.find("codecs");
    if (inner == config.end()) fail("{}: codec \"sharding_indexed\" needs \"codecs\"", where);
    cfg->codecs = std::make_shared<CodecChain>(
        parse_codec_chain(*inner, dtype, rank, where + " (sharding_indexed codecs)"));
    auto index = config.find("index_codecs");
    if (index == config.end()) fail("{}: codec \"sharding_indexed\" needs \"index_codecs\"", where);
    cfg->index_codecs = std::make_shared<CodecChain>(parse_codec_chain(
        *index, dtype_from_name("uint64", where), rank + 1, where + " (index_codecs)"));
    if (!fixed_encoded_size(*cfg->index_codecs, 16)) {
      fail(
          "{}: sharding_indexed index_codecs {} have no fixed size (expected bytes, optionally "
          "crc32c)",
          where, index->dump());
    }
    if (auto loc = config.find("index_location"); loc != config.end()) {
      if (*loc != "start" && *loc != "end") {
        fail("{}: sharding_indexed index_location {} must be \"start\" or \"end\"", where,
             loc->dump());
      }
      cfg->index_at_end = *loc == "end";
    }
    c.sharding = std::move(cfg);
  } else {
    fail(
        "{}: unsupported zarr v3 codec \"{}\" (supported: transpose, bytes, sharding_indexed, "
        "zstd, gzip, blosc, crc32c)",
        where, name);
  }
  return c;
}

Bytes transpose(std::span<const std::byte> src, const Shape& decoded_shape,
                const std::vector<int64_t>& order, size_t itemsize, bool encode) {
  Shape encoded_shape;
  for (int64_t d : order) encoded_shape.push_back(decoded_shape[d]);
  auto dec_strides = c_order_strides(decoded_shape, itemsize);
  auto enc_c = c_order_strides(encoded_shape, itemsize);
  std::vector<int64_t> enc_strides(order.size());  // per decoded dimension
  for (size_t i = 0; i < order.size(); ++i) enc_strides[order[i]] = enc_c[i];
  Bytes out(src.size());
  if (encode) {
    strided_copy(src.data(), dec_strides, out.data(), enc_strides, decoded_shape, itemsize);
  } else {
    strided_copy(src.data(), enc_strides, out.data(), dec_strides, decoded_shape, itemsize);
  }
  return out;
}

Bytes zstd_encode(std::span<const std::byte> data, const V3Codec& c, const std::string& what) {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  auto check = [&](size_t rc) {
    if (ZSTD_isError(rc)) fail("{}: zstd compression failed ({})", what, ZSTD_getErrorName(rc));
    return rc;
  };
  check(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, c.level));
  check(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, c.checksum ? 1 : 0));
  check(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1));
  Bytes out(ZSTD_compressBound(data.size()));
  size_t n = check(ZSTD_compress2(cctx.get(), out.data(), out.size(), data.data(), data.size()));
  out.resize(n);
  return out;
}

// Streams through the frame(s), so frames without Frame_Content_Size decode too.
Bytes zstd_decode(std::span<const std::byte> data, std::optional<uint64_t> expected,
                  const std::string& what) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  // One byte beyond the expected size, so that decoding too much shows.
  Bytes out(expected ? *expected + 1 : std::max<size_t>(data.size() * 4, 256));
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  size_t produced = 0, rc = 1;
  while (in.pos < in.size || rc != 0) {
    if (produced == out.size()) {
      if (expected)
        fail("{}: zstd data decodes to more than the expected {} bytes", what, *expected);
      out.resize(out.size() * 2);
    }
    ZSTD_outBuffer ob{out.data() + produced, out.size() - produced, 0};
    rc = ZSTD_decompressStream(dctx.get(), &ob, &in);
    if (ZSTD_isError(rc)) fail("{}: corrupt zstd data ({})", what, ZSTD_getErrorName(rc));
    produced += ob.pos;
    if (in.pos == in.size && rc != 0 && ob.pos < ob.size) {
      fail("{}: zstd data is truncated", what);
    }
  }
  if (expected && produced != *expected) {
    fail("{}: zstd data decodes to {} bytes, expected {}", what, produced, *expected);
  }
  out.resize(produced);
  return out;
}

uint32_t load_u32le(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

// bytes→bytes codecs; `expected` is the decoded size when known.
Bytes bytes_encode(const V3Codec& c, std::span<const std::byte> data, const std::string& what) {
  switch (c.kind) {
    case Kind::kZstd:
      return zstd_encode(data, c, what);
    case Kind::kGzip:
      return make_deflate_codec(true, c.level)->encode(data, 1);
    case Kind::kBlosc:
      return make_blosc_codec(c.cname, c.clevel, static_cast<int>(c.shuffle), c.blocksize)
          ->encode(data, static_cast<size_t>(c.typesize));
    case Kind::kCrc32c: {
      Bytes out(data.begin(), data.end());
      uint32_t crc = ocdbt::crc32c(data);
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>((crc >> (8 * i)) & 0xff));
      return out;
    }
    default:
      break;
  }
  fail("{}: internal error: not a bytes-to-bytes codec", what);
}

Bytes bytes_decode(const V3Codec& c, std::span<const std::byte> data,
                   std::optional<uint64_t> expected, const std::string& what) {
  switch (c.kind) {
    case Kind::kZstd:
      return zstd_decode(data, expected, what);
    case Kind::kGzip: {
      // A single gzip member: its ISIZE trailer gives the size (mod 2^32) when not known.
      if (data.size() < 18) fail("{}: gzip data is truncated ({} bytes)", what, data.size());
      uint64_t size = expected.value_or(load_u32le(data.data() + data.size() - 4));
      return make_deflate_codec(true, c.level)->decode(data, size, what);
    }
    case Kind::kBlosc: {
      size_t nbytes = 0, cbytes = 0, blocksize = 0;
      if (data.size() < BLOSC_MIN_HEADER_LENGTH) fail("{}: blosc data is truncated", what);
      blosc_cbuffer_sizes(data.data(), &nbytes, &cbytes, &blocksize);
      if (expected && nbytes != *expected) {
        fail("{}: blosc data holds {} bytes, expected {}", what, nbytes, *expected);
      }
      return make_blosc_codec(c.cname, c.clevel, static_cast<int>(c.shuffle), c.blocksize)
          ->decode(data, nbytes, what);
    }
    case Kind::kCrc32c: {
      if (data.size() < 4)
        fail("{}: value of {} bytes is too short for its CRC-32C", what, data.size());
      auto body = data.first(data.size() - 4);
      uint32_t stored = load_u32le(data.data() + body.size());
      uint32_t computed = ocdbt::crc32c(body);
      if (stored != computed) {
        fail("{}: CRC-32C mismatch: stored 0x{:08X}, computed 0x{:08X}", what, stored, computed);
      }
      if (expected && body.size() != *expected) {
        fail("{}: {} bytes before the CRC-32C, expected {}", what, body.size(), *expected);
      }
      return Bytes(body.begin(), body.end());
    }
    default:
      break;
  }
  fail("{}: internal error: not a bytes-to-bytes codec", what);
}

}  // namespace

const V3Codec& CodecChain::array_to_bytes() const {
  for (const auto& c : codecs) {
    if (c.is_array_to_bytes()) return c;
  }
  fail("codec chain has no array-to-bytes codec");
}

Shape CodecChain::encoded_shape(const Shape& shape) const {
  Shape s = shape;
  for (const auto& c : codecs) {
    if (!c.is_array_to_array()) break;
    Shape t;
    for (int64_t d : c.order) t.push_back(s[d]);
    s = std::move(t);
  }
  return s;
}

nlohmann::json V3Codec::to_json() const {
  nlohmann::json j;
  nlohmann::json config = nlohmann::json::object();
  switch (kind) {
    case Kind::kTranspose:
      j["name"] = "transpose";
      config["order"] = order;
      break;
    case Kind::kBytes:
      j["name"] = "bytes";
      if (endian != Endian::kNotApplicable) {
        config["endian"] = endian == Endian::kLittle ? "little" : "big";
      }
      break;
    case Kind::kSharding:
      j["name"] = "sharding_indexed";
      config["chunk_shape"] = sharding->chunk_shape;
      config["codecs"] = sharding->codecs->to_json();
      config["index_codecs"] = sharding->index_codecs->to_json();
      if (!sharding->index_at_end) config["index_location"] = "start";
      break;
    case Kind::kZstd:
      j["name"] = "zstd";
      config["level"] = level;
      config["checksum"] = checksum;
      break;
    case Kind::kGzip:
      j["name"] = "gzip";
      config["level"] = level;
      break;
    case Kind::kBlosc: {
      j["name"] = "blosc";
      config["cname"] = cname;
      config["clevel"] = clevel;
      static const char* kShuffle[] = {"noshuffle", "shuffle", "bitshuffle"};
      config["shuffle"] = kShuffle[static_cast<int>(shuffle)];
      if (shuffle != Shuffle::kNone) config["typesize"] = typesize;
      config["blocksize"] = blocksize;
      break;
    }
    case Kind::kCrc32c:
      j["name"] = "crc32c";
      break;
  }
  if (!config.empty()) j["configuration"] = std::move(config);
  return j;
}

nlohmann::json CodecChain::to_json() const {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& c : codecs) j.push_back(c.to_json());
  return j;
}

CodecChain parse_codec_chain(const nlohmann::json& codecs, const DType& dtype, size_t rank,
                             const std::string& where) {
  if (!codecs.is_array()) fail("{}: \"codecs\" must be a list, found {}", where, codecs.dump());
  CodecChain chain;
  int stage = 0;  // 0: array→array, 1: after array→bytes
  for (const auto& j : codecs) {
    V3Codec c = parse_codec(j, dtype, rank, where);
    if (c.is_array_to_array() && stage != 0) {
      fail("{}: array-to-array codec {} after the array-to-bytes codec", where, j.dump());
    }
    if (c.is_array_to_bytes()) {
      if (stage != 0) fail("{}: more than one array-to-bytes codec ({})", where, j.dump());
      stage = 1;
    }
    if (!c.is_array_to_array() && !c.is_array_to_bytes() && stage == 0) {
      fail("{}: bytes-to-bytes codec {} before the array-to-bytes codec", where, j.dump());
    }
    chain.codecs.push_back(std::move(c));
  }
  if (stage == 0) {
    fail("{}: \"codecs\" {} has no array-to-bytes codec (bytes or sharding_indexed)", where,
         codecs.dump());
  }
  return chain;
}

V3Codec bytes_codec(const DType& dtype, Endian endian) {
  V3Codec c;
  c.kind = Kind::kBytes;
  c.endian = endian_invariant(dtype) ? Endian::kNotApplicable : endian;
  return c;
}

V3Codec transpose_codec(std::vector<int64_t> order) {
  V3Codec c;
  c.kind = Kind::kTranspose;
  c.order = std::move(order);
  return c;
}

V3Codec zstd_codec(int level, bool checksum) {
  V3Codec c;
  c.kind = Kind::kZstd;
  c.level = level;
  c.checksum = checksum;
  return c;
}

V3Codec gzip_codec(int level) {
  V3Codec c;
  c.kind = Kind::kGzip;
  c.level = level;
  return c;
}

V3Codec blosc_codec(const DType& dtype, std::string cname, int clevel,
                    std::optional<V3Codec::Shuffle> shuffle, int blocksize) {
  V3Codec c;
  c.kind = Kind::kBlosc;
  c.cname = std::move(cname);
  c.clevel = clevel;
  c.typesize = static_cast<int>(std::min<size_t>(dtype.itemsize, 255));
  c.shuffle = shuffle.value_or(c.typesize == 1 ? V3Codec::Shuffle::kBit : V3Codec::Shuffle::kByte);
  c.blocksize = blocksize;
  return c;
}

V3Codec crc32c_codec() {
  V3Codec c;
  c.kind = Kind::kCrc32c;
  return c;
}

V3Codec sharding_codec(Shape inner_chunk_shape, CodecChain inner, CodecChain index,
                       bool index_at_end) {
  auto cfg = std::make_shared<ShardingConfig>();
  cfg->chunk_shape = std::move(inner_chunk_shape);
  cfg->codecs = std::make_shared<CodecChain>(std::move(inner));
  cfg->index_codecs = std::make_shared<CodecChain>(std::move(index));
  cfg->index_at_end = index_at_end;
  V3Codec c;
  c.kind = Kind::kSharding;
  c.sharding = std::move(cfg);
  return c;
}

CodecChain default_index_codecs() {
  return CodecChain{
      {bytes_codec(dtype_from_name("uint64", "index"), Endian::kLittle), crc32c_codec()}};
}

std::optional<uint64_t> fixed_encoded_size(const CodecChain& chain, uint64_t decoded_size) {
  uint64_t size = decoded_size;
  for (const auto& c : chain.codecs) {
    if (c.kind == Kind::kTranspose || c.kind == Kind::kBytes) continue;
    if (c.kind == Kind::kCrc32c) {
      size += 4;
      continue;
    }
    return std::nullopt;
  }
  return size;
}

Bytes decode_chunk(const CodecChain& chain, const DType& dtype, const Shape& shape,
                   std::span<const std::byte> stored, std::span<const std::byte> fill,
                   const std::string& what) {
  const size_t n = chain.codecs.size();
  size_t a2b = 0;
  while (a2b < n && !chain.codecs[a2b].is_array_to_bytes()) ++a2b;
  if (a2b == n) fail("{}: codec chain has no array-to-bytes codec", what);
  const Shape enc_shape = chain.encoded_shape(shape);
  const uint64_t array_bytes = static_cast<uint64_t>(num_elements(shape)) * dtype.itemsize;
  // The size entering each bytes→bytes codec, where it is known.
  std::vector<std::optional<uint64_t>> size_before(n + 1);
  size_before[a2b + 1] =
      chain.codecs[a2b].kind == Kind::kBytes ? std::optional<uint64_t>(array_bytes) : std::nullopt;
  for (size_t i = a2b + 1; i < n; ++i) {
    const auto& prev = size_before[i];
    size_before[i + 1] = chain.codecs[i].kind == Kind::kCrc32c && prev
                             ? std::optional<uint64_t>(*prev + 4)
                             : std::nullopt;
  }
  Bytes data(stored.begin(), stored.end());
  for (size_t i = n; i-- > a2b + 1;)
    data = bytes_decode(chain.codecs[i], data, size_before[i], what);
  const V3Codec& ab = chain.codecs[a2b];
  if (ab.kind == Kind::kBytes) {
    if (data.size() != array_bytes) {
      fail("{}: chunk holds {} bytes, expected {} for shape {} of {}", what, data.size(),
           array_bytes, shape_string(shape), v3_name(dtype));
    }
    if (ab.endian == Endian::kBig) swap_elements(data, dtype);
  } else {
    data = decode_shard(*ab.sharding, dtype, enc_shape, data, fill, what);
  }
  // Undo the transposes, last first.
  std::vector<Shape> shapes{shape};
  for (size_t i = 0; i < a2b; ++i) {
    Shape t;
    for (int64_t d : chain.codecs[i].order) t.push_back(shapes.back()[d]);
    shapes.push_back(std::move(t));
  }
  for (size_t i = a2b; i-- > 0;) {
    data = transpose(data, shapes[i], chain.codecs[i].order, dtype.itemsize, false);
  }
  return data;
}

Bytes encode_chunk(const CodecChain& chain, const DType& dtype, const Shape& shape,
                   std::span<const std::byte> decoded, std::span<const std::byte> fill,
                   const std::string& what, const EncodeOptions& options) {
  const uint64_t array_bytes = static_cast<uint64_t>(num_elements(shape)) * dtype.itemsize;
  if (decoded.size() != array_bytes) {
    fail("{}: {} bytes given for a chunk of shape {} of {} ({} bytes)", what, decoded.size(),
         shape_string(shape), v3_name(dtype), array_bytes);
  }
  Bytes data(decoded.begin(), decoded.end());
  Shape cur = shape;
  for (const auto& c : chain.codecs) {
    if (c.kind == Kind::kTranspose) {
      data = transpose(data, cur, c.order, dtype.itemsize, true);
      Shape t;
      for (int64_t d : c.order) t.push_back(cur[d]);
      cur = std::move(t);
    } else if (c.kind == Kind::kBytes) {
      if (c.endian == Endian::kBig) swap_elements(data, dtype);
    } else if (c.kind == Kind::kSharding) {
      data = encode_shard(*c.sharding, dtype, cur, data, fill, what, options);
    } else {
      data = bytes_encode(c, data, what);
    }
  }
  return data;
}

}  // namespace te::zarr::v3
