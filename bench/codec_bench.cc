// Chunk codec throughput: te-ckpt's codecs (gzip through ISA-L, zstd level 1, via te::zarr::Codec)
// next to plain zlib doing the same gzip work (deflateInit2 level 1, windowBits 31, memLevel 8 —
// TensorStore's writer settings — and inflate), on synthetic N(0, 0.02) weights in float32 and
// bfloat16, one chunk of 16 or 64 MiB per iteration.
//
// Every benchmark is single-threaded (te-ckpt parallelises across chunks, not inside one).
// Reported per benchmark:
//   bytes_per_second  decoded bytes per second (input of encode, output of decode), CPU time
//   ratio             compressed size / decoded size (lower is better; 1.0 = incompressible)
//   compressed_MiB    size of the compressed chunk
// Name scheme: <encode|decode>/<codec>/<dtype>/<chunk MiB>MiB, e.g. encode/te_gzip_isal/f32/64MiB.
// Filter with --benchmark_filter=REGEX as usual.
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "zarr/codec.h"

namespace {

using te::Bytes;

constexpr size_t kMiB = size_t{1} << 20;
constexpr uint64_t kSeed = 20240601;

// ---------------------------------------------------------------------------------------------
// Synthetic weights: N(0, 0.02) drawn with a fixed seed, as float32 or as bfloat16 (float32
// rounded to nearest even on the upper 16 bits, which is how JAX/ml_dtypes cast).

enum class DType { f32, bf16 };
const char* dtype_name(DType d) {
  return d == DType::f32 ? "f32" : "bf16";
}
size_t itemsize(DType d) {
  return d == DType::f32 ? 4 : 2;
}

uint16_t to_bf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  u += 0x7FFF + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

// Weights of `bytes` bytes; cached, so each (dtype, size) is drawn once per process.
const Bytes& weights(DType dtype, size_t bytes) {
  static std::map<std::pair<DType, size_t>, Bytes> cache;
  auto key = std::make_pair(dtype, bytes);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::mt19937_64 rng(kSeed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  Bytes out(bytes);
  size_t n = bytes / itemsize(dtype);
  if (dtype == DType::f32) {
    for (size_t i = 0; i < n; ++i) {
      float v = normal(rng);
      std::memcpy(out.data() + 4 * i, &v, 4);
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      uint16_t v = to_bf16(normal(rng));
      std::memcpy(out.data() + 2 * i, &v, 2);
    }
  }
  return cache.emplace(key, std::move(out)).first->second;
}

// ---------------------------------------------------------------------------------------------
// Codecs under test: a name and whole-chunk encode/decode functions.

struct CodecUnderTest {
  std::string name;
  std::function<Bytes(const Bytes& data, size_t itemsize)> encode;
  std::function<void(const Bytes& compressed, Bytes& out)> decode;  // out is pre-sized
};

CodecUnderTest te_codec(const std::string& name, std::shared_ptr<const te::zarr::Codec> codec) {
  return {name, [codec](const Bytes& data, size_t isz) { return codec->encode(data, isz); },
          [codec](const Bytes& compressed, Bytes& out) {
            // Codec::decode allocates its result; keep that cost in, since te-ckpt's decode path
            // does the same (a fresh buffer per chunk).
            out = codec->decode(compressed, out.size(), "bench");
          }};
}

Bytes zlib_gzip_encode(const Bytes& data, size_t) {
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  Bytes out(deflateBound(&zs, data.size()));
  // One deflate call over the whole chunk; avail_in/avail_out are 32-bit, fine up to 4 GiB.
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  out.resize(produced);
  return out;
}

void zlib_gzip_decode(const Bytes& compressed, Bytes& out) {
  z_stream zs{};
  if (inflateInit2(&zs, 31) != Z_OK) throw std::runtime_error("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != out.size() || zs.avail_in != 0) {
    throw std::runtime_error("inflate: corrupt or wrong-sized gzip stream");
  }
}

std::vector<CodecUnderTest> codecs() {
  return {
      te_codec("te_gzip_isal", te::zarr::make_deflate_codec(/*gzip=*/true, /*level=*/1)),
      te_codec("te_zstd", te::zarr::make_zstd_codec(1)),
      {"zlib_gzip", zlib_gzip_encode, zlib_gzip_decode},
  };
}

// Compressed form of a (codec, dtype, size) input, made once and checked to round-trip, also
// through the other gzip implementation (ISA-L output must inflate with zlib and vice versa).
const Bytes& compressed(const CodecUnderTest& c, DType dtype, size_t bytes) {
  static std::map<std::tuple<std::string, DType, size_t>, Bytes> cache;
  auto key = std::make_tuple(c.name, dtype, bytes);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const Bytes& data = weights(dtype, bytes);
  Bytes enc = c.encode(data, itemsize(dtype));
  Bytes back(bytes);
  c.decode(enc, back);
  if (back != data) throw std::runtime_error(c.name + ": round trip mismatch");
  if (c.name == "te_gzip_isal") {
    Bytes via_zlib(bytes);
    zlib_gzip_decode(enc, via_zlib);
    if (via_zlib != data) throw std::runtime_error("zlib cannot read te-ckpt's gzip output");
  }
  return cache.emplace(key, std::move(enc)).first->second;
}

void set_counters(benchmark::State& state, size_t decoded, size_t comp) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(decoded));
  state.counters["ratio"] = static_cast<double>(comp) / static_cast<double>(decoded);
  state.counters["compressed_MiB"] = static_cast<double>(comp) / kMiB;
}

void bm_encode(benchmark::State& state, CodecUnderTest c, DType dtype, size_t bytes) {
  const Bytes& data = weights(dtype, bytes);
  size_t comp = 0;
  try {
    comp = compressed(c, dtype, bytes).size();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    Bytes enc = c.encode(data, itemsize(dtype));
    benchmark::DoNotOptimize(enc.data());
    comp = enc.size();
  }
  set_counters(state, bytes, comp);
}

void bm_decode(benchmark::State& state, CodecUnderTest c, DType dtype, size_t bytes) {
  const Bytes* enc = nullptr;
  try {
    enc = &compressed(c, dtype, bytes);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  Bytes out(bytes);
  for (auto _ : state) {
    if (out.size() != bytes) out.resize(bytes);
    c.decode(*enc, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, bytes, enc->size());
}

}  // namespace

int main(int argc, char** argv) {
  for (const char* op : {"encode", "decode"}) {
    for (const auto& c : codecs()) {
      for (DType dtype : {DType::f32, DType::bf16}) {
        for (size_t mib : {16, 64}) {
          std::string name = std::string(op) + "/" + c.name + "/" + dtype_name(dtype) + "/" +
                             std::to_string(mib) + "MiB";
          auto* b =
              std::string(op) == "encode"
                  ? benchmark::RegisterBenchmark(name.c_str(), bm_encode, c, dtype, mib * kMiB)
                  : benchmark::RegisterBenchmark(name.c_str(), bm_decode, c, dtype, mib * kMiB);
          b->Unit(benchmark::kMillisecond);
        }
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
