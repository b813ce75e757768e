#include "fuzz_targets.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "checkpoint/pax_metadata.h"
#include "checkpoint/t5x_index.h"
#include "kvstore/ocdbt/format/btree_node.h"
#include "kvstore/ocdbt/format/crc32c.h"
#include "kvstore/ocdbt/format/envelope.h"
#include "kvstore/ocdbt/format/manifest.h"
#include "kvstore/ocdbt/format/version_tree.h"
#include "kvstore/ocdbt/ocdbt_store.h"
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
    // The canonical text parses back to the same pattern; a resolved pattern has no optional axis.
    const std::string text = p.to_string();
    const auto again = transform::parse_axis_pattern(text);
    if (again.axes != p.axes || again.optional != p.optional || again.to_string() != text)
      std::abort();
    for (bool stored : {true, false}) {
      if (p.resolved(stored).has_optional_axes()) std::abort();
    }
    (void)p.with_leading_axis("l").to_string();  // te::Error when it names l already
  });
}

namespace {

// Every key but manifest.ocdbt holds the same bytes, so a fuzzed manifest can name any file.
class OneBlobStore : public kv::KvStore {
 public:
  OneBlobStore(Bytes manifest, Bytes blob)
      : manifest_(std::move(manifest)), blob_(std::move(blob)) {}
  std::optional<uint64_t> size(std::string_view key) const override { return value(key).size(); }
  std::unique_ptr<ByteSource> read(std::string_view key, kv::ByteRange range) const override {
    const Bytes& v = value(key);
    uint64_t length =
        range.length ? *range.length : v.size() - std::min<uint64_t>(range.offset, v.size());
    if (range.offset > v.size() || length > v.size() - range.offset)
      te::fail("{}: range outside", key);
    return std::make_unique<MemorySource>(std::span(v).subspan(range.offset, length), "blob");
  }
  std::vector<kv::KeyEntry> list(std::string_view) const override {
    return {{"d/blob", blob_.size()}, {"manifest.ocdbt", manifest_.size()}};
  }
  std::string describe(std::string_view key) const override { return std::string(key); }
  std::string location() const override { return "fuzz"; }

 private:
  const Bytes& value(std::string_view key) const {
    return key == "manifest.ocdbt" ? manifest_ : blob_;
  }
  Bytes manifest_, blob_;
};

// Sets the object's length field to its size and recomputes its CRC, so that mutations reach the
// body instead of stopping at the checksum.
void fix_envelope(std::span<std::byte> object) {
  if (object.size() < 16) return;
  uint64_t n = object.size();
  for (size_t i = 0; i < 8; ++i) object[4 + i] = static_cast<std::byte>(n >> (8 * i));
  uint32_t crc = ocdbt::crc32c(object.first(object.size() - 4));
  for (size_t i = 0; i < 4; ++i)
    object[object.size() - 4 + i] = static_cast<std::byte>(crc >> (8 * i));
}

Bytes with_valid_envelope(const uint8_t* data, size_t size) {
  auto in = bytes(data, size);
  Bytes b(in.begin(), in.end());
  fix_envelope(b);
  return b;
}

// Fixes the CRC of every object in a data file whose magic and length field fit in it.
void fix_envelopes(Bytes& blob) {
  for (size_t i = 0; i + 16 <= blob.size(); ++i) {
    uint32_t magic = 0;
    for (size_t j = 0; j < 4; ++j) magic = (magic << 8) | static_cast<uint8_t>(blob[i + j]);
    if (magic != ocdbt::kBtreeNodeMagic && magic != ocdbt::kVersionTreeNodeMagic) continue;
    uint64_t n = 0;
    for (size_t j = 0; j < 8; ++j) n |= uint64_t{static_cast<uint8_t>(blob[i + 4 + j])} << (8 * j);
    if (n < 16 || n > blob.size() - i) continue;
    uint32_t crc = ocdbt::crc32c(std::span(blob).subspan(i, n - 4));
    for (size_t j = 0; j < 4; ++j) blob[i + n - 4 + j] = static_cast<std::byte>(crc >> (8 * j));
  }
}

}  // namespace

void ocdbt_manifest(const uint8_t* data, size_t size) {
  expect_only_te_errors([&] { (void)ocdbt::decode_manifest(bytes(data, size), "fuzz/raw"); });
  expect_only_te_errors([&] {
    auto m = ocdbt::decode_manifest(with_valid_envelope(data, size), "fuzz/manifest.ocdbt");
    if (m.config.manifest_kind != ocdbt::ManifestKind::kSingle) return;
    // What decodes must re-encode to the same manifest.
    if (!(ocdbt::decode_manifest(ocdbt::encode_manifest(m), "re-encoded") == m)) __builtin_trap();
  });
}

void ocdbt_version_node(const uint8_t* data, size_t size) {
  expect_only_te_errors([&] {
    Bytes body = ocdbt::decode_envelope(with_valid_envelope(data, size),
                                        ocdbt::kVersionTreeNodeMagic, "fuzz");
    (void)ocdbt::decode_version_tree_node(body, "fuzz/version node", "p/");
  });
}

void ocdbt_btree_node(const uint8_t* data, size_t size) {
  expect_only_te_errors([&] {
    Bytes body =
        ocdbt::decode_envelope(with_valid_envelope(data, size), ocdbt::kBtreeNodeMagic, "fuzz");
    auto node = ocdbt::decode_btree_node(body, "fuzz/node", "");
    // Re-encoding is canonical: encode(decode(encode(node))) == encode(node).
    Bytes once = ocdbt::encode_btree_node(node);
    if (ocdbt::encode_btree_node(ocdbt::decode_btree_node(once, "re-encoded", "")) != once)
      __builtin_trap();
  });
}

void ocdbt_database(const uint8_t* data, size_t size) {
  if (size < 2) return;
  size_t n = std::min<size_t>(size - 2, data[0] | (size_t{data[1]} << 8));
  auto manifest = bytes(data + 2, n), blob = bytes(data + 2 + n, size - 2 - n);
  Bytes manifest_bytes(manifest.begin(), manifest.end()), blob_bytes(blob.begin(), blob.end());
  fix_envelope(manifest_bytes);
  fix_envelopes(blob_bytes);
  auto store = std::make_shared<OneBlobStore>(std::move(manifest_bytes), std::move(blob_bytes));
  for (std::optional<uint64_t> generation :
       {std::optional<uint64_t>(), std::optional<uint64_t>(1)}) {
    expect_only_te_errors([&] {
      auto db = kv::OcdbtStore::open(store, {generation});
      for (auto& e : db->list()) (void)db->read_all(e.key);
    });
  }
}

}  // namespace te::fuzz
