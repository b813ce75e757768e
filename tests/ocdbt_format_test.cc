// OCDBT format codecs (src/kvstore/ocdbt/format/): varint widths, CRC-32C, the envelope, config,
// data-file tables, manifests, version-tree nodes and B+tree nodes; the constructed vector of
// orbax-format.md §7.2 and the real Orbax root manifest of §7.1 decoded field by field; every
// decode error names the object and a byte offset.
#include <gtest/gtest.h>

#include "kvstore/ocdbt/format/btree_node.h"
#include "kvstore/ocdbt/format/crc32c.h"
#include "kvstore/ocdbt/format/data_file_table.h"
#include "kvstore/ocdbt/format/envelope.h"
#include "kvstore/ocdbt/format/manifest.h"
#include "kvstore/ocdbt/format/varint.h"
#include "kvstore/ocdbt/format/version_tree.h"
#include "test_util.h"

namespace te::ocdbt {
namespace {

using namespace te::testing;

// ---------------------------------------------------------------------------------------------
// varint

TEST(OcdbtVarint, DecodesMinimalAndMultiByteForms) {
  auto v = decode_varint(unhex("00"), VarintWidth::k64);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value, 0u);
  EXPECT_EQ(v->length, 1u);
  v = decode_varint(unhex("8008"), VarintWidth::k32);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value, 1024u);
  EXPECT_EQ(v->length, 2u);
  v = decode_varint(unhex("80c2d72f"), VarintWidth::k32);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value, 100000000u);
  v = decode_varint(unhex("ffffffffffffffffff01"), VarintWidth::k64);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value, UINT64_MAX);
  EXPECT_EQ(v->length, 10u);
}

TEST(OcdbtVarint, EnforcesWidthLimits) {
  // 65535 fits 16 bits, 65536 does not.
  EXPECT_TRUE(decode_varint(unhex("ffff03"), VarintWidth::k16));
  EXPECT_FALSE(decode_varint(unhex("808004"), VarintWidth::k16));
  // 2^32-1 fits 32 bits (5 bytes), 2^32 does not; 6 bytes never.
  EXPECT_TRUE(decode_varint(unhex("ffffffff0f"), VarintWidth::k32));
  EXPECT_FALSE(decode_varint(unhex("8080808010"), VarintWidth::k32));
  EXPECT_FALSE(decode_varint(unhex("808080808000"), VarintWidth::k32));
  // 64 bits: the 10th byte carries only bit 63; 11 bytes never.
  EXPECT_FALSE(decode_varint(unhex("ffffffffffffffffff02"), VarintWidth::k64));
  EXPECT_FALSE(decode_varint(unhex("8080808080808080808000"), VarintWidth::k64));
  // Truncated.
  EXPECT_FALSE(decode_varint(unhex("80"), VarintWidth::k64));
  EXPECT_FALSE(decode_varint({}, VarintWidth::k64));
}

TEST(OcdbtVarint, RoundTripsAndIsMinimal) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{16383},
                     uint64_t{16384}, uint64_t{1} << 35, UINT64_MAX - 1, UINT64_MAX}) {
    Bytes b;
    append_varint(b, v);
    EXPECT_EQ(b.size(), varint_length(v));
    EXPECT_NE(static_cast<uint8_t>(b.back()), 0x80) << "non-minimal form";
    auto d = decode_varint(b, VarintWidth::k64);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value, v);
    EXPECT_EQ(d->length, b.size());
  }
}

// ---------------------------------------------------------------------------------------------
// CRC-32C

TEST(OcdbtCrc32c, StandardCheckValue) {
  EXPECT_EQ(crc32c(as_bytes(std::string("123456789"))), 0xE3069283u);
  EXPECT_EQ(crc32c({}), 0u);
  // An independent oracle: Debian's python3-crc32c.
  Bytes data = random_bytes(100000, 7);
  TempDir tmp;
  write_bytes(tmp / "data", data);
  std::string out =
      run_python("import crc32c,sys\nprint(crc32c.crc32c(open(sys.argv[1],'rb').read()))\n",
                 {(tmp / "data").string()});
  EXPECT_EQ(std::to_string(crc32c(data)) + "\n", out);
}

// ---------------------------------------------------------------------------------------------
// envelope

TEST(OcdbtEnvelope, RoundTripsRawAndZstd) {
  Bytes body = compressible_bytes(5000, 3);
  for (std::optional<int> level : {std::optional<int>(), std::optional<int>(0)}) {
    Bytes object = encode_envelope(kBtreeNodeMagic, body, level);
    EXPECT_EQ(decode_envelope(object, kBtreeNodeMagic, "test"), body);
    EXPECT_EQ(static_cast<uint8_t>(object[12]), 0);
    EXPECT_EQ(static_cast<uint8_t>(object[13]), level ? 1 : 0);
  }
  EXPECT_LT(encode_envelope(kBtreeNodeMagic, body, 0).size(), body.size());
}

TEST(OcdbtEnvelope, RejectsEachCorruption) {
  Bytes body = compressible_bytes(300, 4);
  Bytes good = encode_envelope(kManifestMagic, body, 0);
  EXPECT_TE_ERROR(decode_envelope(good, kBtreeNodeMagic, "obj X"), "obj X", "byte 0", "magic");
  Bytes bad_length = good;
  bad_length[4] = static_cast<std::byte>(static_cast<uint8_t>(bad_length[4]) ^ 1);
  EXPECT_TE_ERROR(decode_envelope(bad_length, kManifestMagic, "obj X"), "obj X", "byte 4",
                  "length");
  Bytes bad_crc = good;
  bad_crc[good.size() - 1] ^= std::byte{0x40};
  EXPECT_TE_ERROR(decode_envelope(bad_crc, kManifestMagic, "obj X"), "CRC-32C",
                  fmt::format("byte {}", good.size() - 4));
  EXPECT_TE_ERROR(decode_envelope(Bytes(good.begin(), good.begin() + 10), kManifestMagic, "obj X"),
                  "at least");
  // Every single flipped byte is an error (the CRC or a field check catches it).
  for (size_t i = 0; i < good.size(); ++i) {
    Bytes flipped = good;
    flipped[i] ^= std::byte{0x01};
    EXPECT_THROW(decode_envelope(flipped, kManifestMagic, "obj"), Error) << "byte " << i;
  }
  // Version 1 with a valid CRC.
  Bytes v1 = encode_envelope(kManifestMagic, body, std::nullopt);
  v1[12] = std::byte{1};
  uint32_t crc = crc32c(std::span(v1).first(v1.size() - 4));
  for (int i = 0; i < 4; ++i) v1[v1.size() - 4 + i] = static_cast<std::byte>(crc >> (8 * i));
  EXPECT_TE_ERROR(decode_envelope(v1, kManifestMagic, "obj"), "byte 12", "version 0");
}

// ---------------------------------------------------------------------------------------------
// data-file table

TEST(OcdbtDataFileTable, EmptyTableIsOneByte) {
  Encoder e;
  encode_data_file_table(e, {});
  EXPECT_EQ(hex(e.out()), "00");
}

TEST(OcdbtDataFileTable, PrefixCompressionBasePathsAndTransitivePath) {
  DataFileTable files = {{"", "d/aaa1"},
                         {"", "d/aaa2"},
                         {"ocdbt.process_0/", "d/bbb"},
                         {"ocdbt.process_0/", "d/bbc"},
                         {"ocdbt.process_1/", "d/bbc"}};
  Encoder e;
  encode_data_file_table(e, files);
  // prefixes: 5 ("d/aaa"), 0 (bases differ), 20 (same base "ocdbt.process_0/" + "d/bb"), 14
  // (bases differ: their common prefix "ocdbt.process_").
  EXPECT_EQ(hex(e.out()).substr(0, 10), "050500140e");
  Decoder d(e.out(), "t");
  EXPECT_EQ(decode_data_file_table(d, ""), files);
  d.expect_end("table");
  Decoder d2(e.out(), "t");
  auto with_t = decode_data_file_table(d2, "x/");
  ASSERT_EQ(with_t.size(), files.size());
  EXPECT_EQ(with_t[0].base_path, "x/");
  EXPECT_EQ(with_t[0].relative_path, "d/aaa1");
  EXPECT_EQ(with_t[3].path(), "x/ocdbt.process_0/d/bbc");
}

TEST(OcdbtDataFileTable, RejectsBadLengths) {
  // 2 files, prefix 5 > previous path length 3.
  Bytes b = unhex(
      "02"
      "05"
      "03"
      "03"
      "00"
      "00"
      "616263"
      "646566");
  Decoder d(b, "tbl");
  EXPECT_TE_ERROR(decode_data_file_table(d, ""), "tbl", "byte 1", "path_prefix_length");
  // base length 4 > path length 3.
  Bytes c = unhex(
      "01"
      "03"
      "04"
      "616263");
  Decoder d2(c, "tbl");
  EXPECT_TE_ERROR(decode_data_file_table(d2, ""), "byte 2", "base_path_length");
  // A forged count: more files than bytes.
  Bytes f = unhex("ffffffff0f00");
  Decoder d3(f, "tbl");
  EXPECT_TE_ERROR(decode_data_file_table(d3, ""), "byte 0", "bytes are left");
}

// ---------------------------------------------------------------------------------------------
// §7.2: the constructed vector

const char* kVectorNode =
    "0cdb20de5f000000000000000000"
    "0001220064 2f30313233343536373839616263646566 30313233343536373839616263646566"
    "02 02 0903 772f2e7a6172726179 302e30 9501 10 0100 00 00"
    "0000803f 00000040 00004040 00008040"
    "045e67d6";
const char* kVectorManifest =
    "0cdb3a2a630000000000000000 00"
    "000102030405060708090a0b0c0d0e0f 00 10 80c2d72f 04 00"
    "01 22 00 642f 30313233343536373839616263646566 30313233343536373839616263646566"
    "01 01 00 00 9501 5f 02 5f 9501 00002a36fe9c9717 00"
    "1617fecb";

Bytes unhex_spaced(std::string s) {
  std::erase(s, ' ');
  return unhex(s);
}

TEST(OcdbtVector, ManifestOfSection72) {
  Manifest m = decode_manifest(unhex_spaced(kVectorManifest), "manifest");
  EXPECT_EQ(m.config.uuid[15], 0x0f);
  EXPECT_EQ(m.config.manifest_kind, ManifestKind::kSingle);
  EXPECT_EQ(m.config.max_inline_value_bytes, 16u);
  EXPECT_EQ(m.config.max_decoded_node_bytes, 100000000u);
  EXPECT_EQ(m.config.version_tree_arity_log2, 4);
  EXPECT_FALSE(m.config.zstd_level);
  ASSERT_EQ(m.versions.size(), 1u);
  const auto& v = m.versions[0];
  EXPECT_EQ(v.generation_number, 1u);
  EXPECT_EQ(v.root_height, 0);
  EXPECT_EQ(v.root.location.file.path(), "d/0123456789abcdef0123456789abcdef");
  EXPECT_EQ(v.root.location.offset, 149u);
  EXPECT_EQ(v.root.location.length, 95u);
  EXPECT_EQ(v.root.statistics, (BtreeNodeStatistics{2, 95, 149}));
  EXPECT_EQ(v.commit_time, 0x17979cfe362a0000u);
  EXPECT_TRUE(m.version_nodes.empty());
  // The encoder reproduces the bytes exactly.
  EXPECT_EQ(hex(encode_manifest(m)), hex(unhex_spaced(kVectorManifest)));
}

TEST(OcdbtVector, LeafNodeOfSection72) {
  Bytes object = unhex_spaced(kVectorNode);
  ASSERT_EQ(object.size(), 95u);
  Bytes body = decode_envelope(object, kBtreeNodeMagic, "node");
  BtreeNode node = decode_btree_node(body, "node", "");
  ASSERT_EQ(node.height, 0);
  ASSERT_EQ(node.leaf_entries.size(), 2u);
  EXPECT_EQ(node.leaf_entries[0].key, "w/.zarray");
  auto& r = std::get<IndirectDataReference>(node.leaf_entries[0].value);
  EXPECT_EQ(r.file.path(), "d/0123456789abcdef0123456789abcdef");
  EXPECT_EQ(r.offset, 0u);
  EXPECT_EQ(r.length, 149u);
  EXPECT_EQ(node.leaf_entries[1].key, "w/0.0");
  EXPECT_EQ(hex(std::get<Bytes>(node.leaf_entries[1].value)), "0000803f000000400000404000008040");
  EXPECT_EQ(hex(encode_btree_node(node)), hex(body));
  EXPECT_EQ(hex(encode_envelope(kBtreeNodeMagic, body, std::nullopt)), hex(object));
}

// ---------------------------------------------------------------------------------------------
// §7.1: a real root manifest written by Orbax

TEST(OcdbtVector, OrbaxRootManifest) {
  fs::path dir = kFixtureRoot / "orbax" / "zarr2_direct";
  Manifest m = decode_manifest(read_bytes(dir / "manifest.ocdbt"), "manifest");
  EXPECT_EQ(m.config.max_inline_value_bytes, 1024u);
  EXPECT_EQ(m.config.max_decoded_node_bytes, 100000000u);
  EXPECT_EQ(m.config.version_tree_arity_log2, 4);
  EXPECT_EQ(m.config.zstd_level, std::optional<int32_t>(0));
  ASSERT_EQ(m.versions.size(), 1u);
  EXPECT_EQ(m.versions[0].root.location.file.path(), "d/9f51d9b77c0c771353c577b65dc7bba5");
  EXPECT_EQ(m.versions[0].root.statistics, (BtreeNodeStatistics{4, 240, 0}));
  EXPECT_EQ(m.versions[0].commit_time, 1778718340771198958u);
  Bytes leaf = read_bytes(dir / "d/9f51d9b77c0c771353c577b65dc7bba5");
  BtreeNode node = decode_btree_node(decode_envelope(leaf, kBtreeNodeMagic, "leaf"), "leaf", "");
  std::vector<std::string> keys;
  for (auto& e : node.leaf_entries) keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a/.zarray", "a/0", "b.c/.zarray", "b.c/0"}));
  EXPECT_EQ(node.leaf_entries[1].value_length(), 41u);
  // Per-process manifest: 4 versions and a prefix-compressed table of 4 files.
  Manifest p = decode_manifest(read_bytes(dir / "ocdbt.process_0/manifest.ocdbt"), "manifest");
  ASSERT_EQ(p.versions.size(), 4u);
  EXPECT_EQ(p.versions[3].generation_number, 4u);
  EXPECT_EQ(p.versions[3].root.location.file.path(), "d/ef18d3285fc4580bec9491efe2e5dbc6");
  EXPECT_EQ(p.versions[0].root.location.length, 169u);
}

// ---------------------------------------------------------------------------------------------
// B+tree nodes

TEST(OcdbtBtreeNode, InteriorRoundTripAndKeyChecks) {
  BtreeNode node;
  node.height = 2;
  for (int i = 0; i < 3; ++i) {
    InteriorNodeEntry e;
    e.key = "key/" + std::string(static_cast<size_t>(i + 1), 'x');
    e.subtree_common_prefix_length = static_cast<uint16_t>(4 + i);
    e.node.location = {{"p/", "d/f" + std::to_string(i % 2)}, uint64_t(i) * 100, 50};
    e.node.statistics = {uint64_t(i), 7, 9};
    node.interior_entries.push_back(e);
  }
  Bytes body = encode_btree_node(node);
  BtreeNode back = decode_btree_node(body, "n", "");
  ASSERT_EQ(back.interior_entries.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(back.interior_entries[i].key, node.interior_entries[i].key);
    EXPECT_EQ(back.interior_entries[i].subtree_common_prefix_length, 4 + i);
    EXPECT_EQ(back.interior_entries[i].node, node.interior_entries[i].node);
  }
  // Keys out of order.
  std::swap(node.interior_entries[0].key, node.interior_entries[1].key);
  EXPECT_TE_ERROR(decode_btree_node(encode_btree_node(node), "node N", ""), "node N",
                  "invalid key order");
}

TEST(OcdbtBtreeNode, RejectsEmptyNodeAndForgedCounts) {
  EXPECT_TE_ERROR(decode_btree_node(unhex("000000"), "n", ""), "byte 2", "empty B+tree node");
  EXPECT_TE_ERROR(decode_btree_node(unhex("0000ffff3f00"), "n", ""), "byte 2");
  EXPECT_TE_ERROR(decode_btree_node(unhex("0000"), "n", ""), "end of the data");
  // Leaf: value_kind 2.
  EXPECT_TE_ERROR(decode_btree_node(unhex("000001016100"
                                          "02"),
                                    "n", ""),
                  "value_kind");
  // Indirect value whose data-file index is out of the (empty) table.
  EXPECT_TE_ERROR(decode_btree_node(unhex("0000010161050100"
                                          "00"),
                                    "n", ""),
                  "data-file index");
}

TEST(OcdbtBtreeNode, LeafTruncatedAtEveryByteIsAnError) {
  BtreeNode node;
  node.height = 0;
  node.leaf_entries.push_back({"alpha", Bytes(10, std::byte{1})});
  node.leaf_entries.push_back({"alphabet", IndirectDataReference{{"", "d/x"}, 5, 2000}});
  node.leaf_entries.push_back({"beta", Bytes()});
  Bytes body = encode_btree_node(node);
  EXPECT_EQ(decode_btree_node(body, "n", "").leaf_entries.size(), 3u);
  for (size_t n = 0; n < body.size(); ++n)
    EXPECT_THROW(decode_btree_node(std::span(body).first(n), "n", ""), Error) << n;
  Bytes longer = body;
  longer.push_back(std::byte{0});
  EXPECT_TE_ERROR(decode_btree_node(longer, "n", ""), "expected the end");
}

TEST(OcdbtBtreeNode, ForgedPrefixCompressionCannotClaimUnboundedMemory) {
  // Each entry costs 6 bytes but decodes to a 64 KiB key.
  const size_t n = 4200;
  Encoder e;
  e.u8(0);
  e.varint(0);
  e.varint(n);
  for (size_t i = 1; i < n; ++i) e.varint(65533);
  e.varint(65535);
  for (size_t i = 1; i < n; ++i) e.varint(2);
  e.bytes(std::string(65533, 'a') + std::string("\0\0", 2));
  for (size_t i = 1; i < n; ++i) {
    e.u8(static_cast<uint8_t>(i >> 8));
    e.u8(static_cast<uint8_t>(i));
  }
  for (size_t i = 0; i < n; ++i) e.varint(0);
  for (size_t i = 0; i < n; ++i) e.u8(0);
  EXPECT_LT(e.size(), 120000u);
  EXPECT_TE_ERROR(decode_btree_node(e.out(), "node F", ""), "node F", "keys to total at most");
}

// ---------------------------------------------------------------------------------------------
// version tree

TEST(OcdbtVersionTree, ManifestWithVersionNodesRoundTrips) {
  Manifest m;
  m.config.version_tree_arity_log2 = 1;
  for (uint64_t g : {15u}) {
    BtreeGenerationReference v;
    v.generation_number = g;
    v.root.location = {{"abc", "def"}, 10, 42};
    v.root.statistics = {101, 220, 8};
    v.commit_time = 10;
    m.versions.push_back(v);
  }
  uint64_t gens[] = {8, 12, 14}, heights[] = {3, 2, 1}, ngen[] = {8, 4, 2}, times[] = {1, 5, 8};
  for (int i = 0; i < 3; ++i)
    m.version_nodes.push_back(
        {{{"abc", "def"}, uint64_t(i), 5}, gens[i], ngen[i], times[i], uint8_t(heights[i])});
  Bytes object = encode_manifest(m);
  EXPECT_EQ(decode_manifest(object, "m"), m);
  // Heights not decreasing.
  std::swap(m.version_nodes[0].height, m.version_nodes[1].height);
  EXPECT_TE_ERROR(decode_manifest(encode_manifest(m), "manifest M"), "manifest M",
                  "decreasing version node heights");
}

TEST(OcdbtVersionTree, RejectsGenerationsOutsideOneGroup) {
  Manifest m;
  m.config.version_tree_arity_log2 = 2;  // groups of 4
  for (uint64_t g : {3u, 4u, 5u}) {
    BtreeGenerationReference v;
    v.generation_number = g;
    v.root.location = {{}, UINT64_MAX, UINT64_MAX};
    m.versions.push_back(v);
  }
  EXPECT_TE_ERROR(decode_manifest(encode_manifest(m), "m"), "one version-tree group");
  m.versions.erase(m.versions.begin());
  m.versions.insert(m.versions.begin(), m.versions.back());
  EXPECT_TE_ERROR(decode_manifest(encode_manifest(m), "m"), "strictly increasing");
}

TEST(OcdbtVersionTree, NodeDecodesLeafEntries) {
  Encoder e;
  e.u8(4);
  e.u8(0);
  DataFileTable table = {{"", "d/n"}};
  encode_data_file_table(e, table);
  std::vector<BtreeGenerationReference> v(2);
  v[0].generation_number = 17;
  v[1].generation_number = 18;
  for (auto& x : v) x.root.location = {{"", "d/n"}, 1, 2};
  encode_version_entries(e, table, v);
  VersionTreeNode node = decode_version_tree_node(e.out(), "vt", "base/");
  ASSERT_EQ(node.versions.size(), 2u);
  EXPECT_EQ(node.versions[1].generation_number, 18u);
  EXPECT_EQ(node.versions[1].root.location.file.path(), "base/d/n");
  Bytes cut(e.out().begin(), e.out().end() - 1);
  EXPECT_TE_ERROR(decode_version_tree_node(cut, "vt X", ""), "vt X", "byte");
}

}  // namespace
}  // namespace te::ocdbt
