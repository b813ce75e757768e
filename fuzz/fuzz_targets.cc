#include "fuzz_targets.h"

#include <nlohmann/json.hpp>
#include <string>

#include "checkpoint/pax_metadata.h"
#include "checkpoint/t5x_index.h"
#include "transform/pattern.h"
#include "util/error.h"
#include "zarr/codec.h"
#include "zarr/metadata.h"

namespace te::fuzz {
namespace {

std::span<const std::byte> bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

template <typename F>
void expect_only_te_errors(F&& f) {
  try {
    f();
  } catch (const te::Error&) {
  }
}

}  // namespace

void zarray(const uint8_t* data, size_t size) {
  expect_only_te_errors([&] {
    auto m = zarr::ArrayMetadata::parse(std::string(reinterpret_cast<const char*>(data), size),
                                        "fuzz/.zarray");
    (void)m.to_json_string();
    (void)m.num_chunks();
  });
}

void msgpack_index(const uint8_t* data, size_t size) {
  expect_only_te_errors([&] {
    auto value = msgpack::decode(bytes(data, size), "fuzz/checkpoint");
    (void)msgpack::encode(value);
    if (!checkpoint::T5xIndex::is_t5x_document(value)) return;
    auto index = checkpoint::T5xIndex::parse(bytes(data, size), "fuzz/checkpoint");
    for (const auto& leaf : index.leaves()) {
      if (leaf.spec) (void)leaf.spec->to_metadata("fuzz");
    }
    index.sort_keys();
    (void)index.encode();
  });
}

void pax_metadata(const uint8_t* data, size_t size) {
  auto json = nlohmann::json::parse(data, data + size, nullptr, false);
  if (json.is_discarded()) return;
  expect_only_te_errors([&] {
    auto leaves = checkpoint::pax_metadata_leaves(json);
    (void)checkpoint::python_json_dumps(checkpoint::make_pax_metadata(json, leaves));
  });
}

void chunk_codecs(const uint8_t* data, size_t size) {
  if (size < 3) return;
  static const char* kCodecs[] = {
      R"({"id":"gzip","level":1})", R"({"id":"zlib","level":1})", R"({"id":"zstd","level":1})",
      R"({"id":"bz2","level":1})",
      R"({"id":"blosc","cname":"lz4","clevel":5,"shuffle":1,"blocksize":0})"};
  auto codec = zarr::codec_from_json(nlohmann::json::parse(kCodecs[data[0] % 5]), "fuzz");
  size_t decoded_size = (size_t{data[1]} << 4) | (data[2] & 0xf);
  expect_only_te_errors(
      [&] { (void)codec->decode(bytes(data + 3, size - 3), decoded_size, "fuzz/chunk"); });
}

void pattern(const uint8_t* data, size_t size) {
  expect_only_te_errors([&] {
    auto p = transform::parse_axis_pattern(std::string(reinterpret_cast<const char*>(data), size));
    (void)p.to_string();
  });
}

}  // namespace te::fuzz
