#include "zarr/codec.h"

#include <cstring>

#include "util/error.h"
#include "zarr/fixed_piece_encoder.h"

namespace te::zarr {
namespace {

int int_member(const nlohmann::json& j, const char* key, int fallback, int lo, int hi,
               const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_number_integer()) fail("{}: compressor member \"{}\" must be an integer", where, key);
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    fail("{}: compressor member \"{}\" is {}, expected {}..{}", where, key, v, lo, hi);
  }
  return static_cast<int>(v);
}

class NullDecoder : public ChunkDecoder {
 public:
  NullDecoder(ByteSource& source, size_t decoded_size)
      : source_(source), remaining_(decoded_size) {}
  void read(std::span<std::byte> out) override {
    while (!out.empty()) {
      if (piece_.empty()) {
        piece_ = source_.next();
        if (piece_.empty()) {
          fail("{}: chunk is truncated: {} more bytes expected", source_.name(), out.size());
        }
      }
      size_t n = std::min(piece_.size(), out.size());
      if (n > remaining_) fail("{}: chunk is larger than expected", source_.name());
      std::memcpy(out.data(), piece_.data(), n);
      piece_ = piece_.subspan(n);
      out = out.subspan(n);
      remaining_ -= n;
    }
  }
  void finish() override {
    if (remaining_ != 0)
      fail("{}: chunk is truncated: {} bytes missing", source_.name(), remaining_);
    if (!piece_.empty() || !source_.next().empty()) {
      fail("{}: chunk is larger than the expected decoded size", source_.name());
    }
  }

 private:
  ByteSource& source_;
  std::span<const std::byte> piece_;
  size_t remaining_;
};

class NullEncoder : public ChunkEncoder {
 public:
  explicit NullEncoder(ByteSink& sink) : sink_(sink) {}
  void write(std::span<const std::byte> data) override { sink_.write(data); }
  void finish() override {}

 private:
  ByteSink& sink_;
};

class NullCodec : public Codec {
 public:
  nlohmann::json to_json() const override { return nullptr; }
  std::string id() const override { return "null"; }
  std::unique_ptr<ChunkDecoder> decoder(ByteSource& source, size_t decoded_size) const override {
    return std::make_unique<NullDecoder>(source, decoded_size);
  }
  std::unique_ptr<ChunkEncoder> encoder(ByteSink& sink, size_t, size_t) const override {
    return std::make_unique<NullEncoder>(sink);
  }
};

}  // namespace

Bytes Codec::decode(std::span<const std::byte> compressed, size_t decoded_size,
                    const std::string& name) const {
  MemorySource source(compressed, name);
  Bytes out(decoded_size);
  auto d = decoder(source, decoded_size);
  d->read(out);
  d->finish();
  return out;
}

Bytes Codec::encode(std::span<const std::byte> data, size_t itemsize) const {
  MemorySink sink("memory");
  auto e = fixed_piece_encoder(*this, sink, data.size(), itemsize);
  e->write(data);
  e->finish();
  return std::move(sink.bytes);
}

std::shared_ptr<const Codec> make_null_codec() {
  return std::make_shared<NullCodec>();
}

std::shared_ptr<const Codec> codec_from_json(const nlohmann::json& c, const std::string& where) {
  if (c.is_null()) return make_null_codec();
  if (!c.is_object() || !c.contains("id") || !c["id"].is_string()) {
    fail("{}: \"compressor\" must be null or an object with a string \"id\"", where);
  }
  std::string id = c["id"].get<std::string>();
  if (id == "gzip" || id == "zlib") {
    return make_deflate_codec(id == "gzip", int_member(c, "level", 1, 0, 9, where));
  }
  if (id == "zstd") return make_zstd_codec(int_member(c, "level", 1, -131072, 22, where));
  if (id == "bz2") return make_bz2_codec(int_member(c, "level", 1, 1, 9, where));
  if (id == "blosc") {
    std::string cname = "lz4";
    if (auto it = c.find("cname"); it != c.end()) {
      if (!it->is_string()) fail("{}: blosc \"cname\" must be a string", where);
      cname = it->get<std::string>();
    }
    static const char* kNames[] = {"blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"};
    if (std::find(std::begin(kNames), std::end(kNames), cname) == std::end(kNames)) {
      fail("{}: unsupported blosc cname \"{}\"", where, cname);
    }
    return make_blosc_codec(cname, int_member(c, "clevel", 5, 0, 9, where),
                            int_member(c, "shuffle", -1, -1, 2, where),
                            int_member(c, "blocksize", 0, 0, 1 << 30, where));
  }
  fail("{}: unsupported compressor \"{}\" (supported: null, gzip, zlib, zstd, blosc, bz2)", where,
       id);
}

std::shared_ptr<const Codec> codec_from_name(const std::string& name,
                                             std::optional<int64_t> level) {
  if (name == "none" || name == "null" || name == "raw") {
    if (level) {
      fail("--compression-level={} does not apply to --compressor={}: raw chunks have no level",
           *level, name);
    }
    return make_null_codec();
  }
  auto checked = [&](int64_t lo, int64_t hi) {
    if (!level) return 1;
    if (*level < lo || *level > hi) {
      fail("--compression-level={} is out of range for --compressor={}: expected {} to {}", *level,
           name, lo, hi);
    }
    return static_cast<int>(*level);
  };
  if (name == "gzip" || name == "zlib") return make_deflate_codec(name == "gzip", checked(0, 9));
  if (name == "zstd") {
    auto [lo, hi] = zstd_level_range();
    return make_zstd_codec(checked(lo, hi));
  }
  fail("unknown compressor \"{}\" (expected gzip, zlib, zstd or none)", name);
}

}  // namespace te::zarr
