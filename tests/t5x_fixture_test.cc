// T5X support below the planner: the msgpack index (leaves, remove, set, sort_keys, spec leaves),
// inline arrays, T5X's chunk-shape rule, and the real T5X fixtures in tests/fixtures/t5x.
#include <sstream>

#include "checkpoint/checkpoint.h"
#include "checkpoint/inline_array.h"
#include "checkpoint/t5x_index.h"
#include "plan/output_chunking.h"
#include "plan/plan.h"
#include "test_util.h"
#include "util/file.h"
#include "zarr/array.h"

namespace te::checkpoint {
namespace {

using namespace te::testing;
using msgpack::Value;

const fs::path kTinyT5 = kFixtures / "tiny_t5" / "checkpoint_1";
const fs::path kTinyT5Index = kTinyT5 / "checkpoint";
const fs::path kAllInline = kFixtures / "test_t5_tiny.checkpoint_0";
const fs::path kTinyOrbax = kFixtures / "tiny_orbax" / "1";

// Runs a Python program that prints one hex string; returns its bytes.
Bytes python_bytes(const std::string& program, const std::vector<std::string>& args = {}) {
  std::string out = run_python("import msgpack, numpy as np, sys\n" + program, args);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return unhex(out);
}

// ---------------------------------------------------------------------------------------------
// T5X's _choose_chunk_shape (t5x-format.md §1.7)

TEST(T5xChunkShape, SpecTable) {
  const int64_t f32 = (int64_t{64} << 20) / 4;
  EXPECT_EQ(plan::largest_dividing_chunks({32128, 4096}, f32), (Shape{4016, 4096}));
  EXPECT_EQ(plan::largest_dividing_chunks({32128, 768}, f32), (Shape{16064, 768}));
  EXPECT_EQ(plan::largest_dividing_chunks({4096, 3, 4096}, f32), (Shape{2048, 3, 2048}));
  EXPECT_EQ(plan::largest_dividing_chunks({4096, 2, 10240}, f32), (Shape{2048, 2, 2560}));
  EXPECT_EQ(plan::largest_dividing_chunks({10240, 4096}, f32), (Shape{2560, 4096}));
  EXPECT_EQ(plan::largest_dividing_chunks({768, 3072}, f32), (Shape{768, 3072}));
  EXPECT_EQ(plan::largest_dividing_chunks({4096, 4096}, f32),
            (Shape{4096, 4096}));  // exactly 16 Mi
  EXPECT_EQ(plan::largest_dividing_chunks({5}, f32), (Shape{5}));
  EXPECT_EQ(plan::largest_dividing_chunks({}, f32), Shape{});
}

TEST(T5xChunkShape, OtherItemSizesAndTies) {
  // bfloat16: 32 Mi elements.
  EXPECT_EQ(plan::largest_dividing_chunks({32128, 4096}, (int64_t{64} << 20) / 2),
            (Shape{8032, 4096}));
  // Ties go to the lowest index: [6, 6] with at most 18 elements shrinks dimension 0 (6 -> 3);
  // with at most 12 it then shrinks dimension 1, now the largest (6 -> 3).
  EXPECT_EQ(plan::largest_dividing_chunks({6, 6}, 12), (Shape{3, 3}));
  EXPECT_EQ(plan::largest_dividing_chunks({6, 6}, 18), (Shape{3, 6}));
  // A prime dimension can only shrink to 1.
  EXPECT_EQ(plan::largest_dividing_chunks({7, 4}, 20), (Shape{1, 4}));
  EXPECT_EQ(plan::largest_dividing_chunks({7, 4}, 28), (Shape{7, 4}));
}

// ---------------------------------------------------------------------------------------------
// The T5X index

T5xIndex tiny_index() {
  return T5xIndex::parse(read_file(kTinyT5Index), kTinyT5Index.string());
}

TEST(T5xIndex, LeavesOfTinyT5) {
  T5xIndex index = tiny_index();
  auto leaves = index.leaves();
  std::vector<std::string> paths;
  for (const auto& l : leaves) paths.push_back(l.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"state.param_states.bias", "state.param_states.kernel",
                                             "state.param_states.step", "state.step"}));
  ASSERT_EQ(leaves.size(), 4u);
  ASSERT_TRUE(leaves[0].spec);
  EXPECT_EQ(leaves[0].spec->folder, "state.param_states.bias");
  EXPECT_EQ(leaves[0].spec->dtype_name, "float32");
  EXPECT_EQ(leaves[0].spec->shape, Shape{5});
  EXPECT_EQ(leaves[0].spec->chunks, Shape{5});
  EXPECT_EQ(leaves[0].spec->compressor.dump(), R"({"id":"gzip","level":1})");
  EXPECT_EQ(
      leaves[0].spec->to_metadata("w").to_json_string(),
      R"({"chunks":[5],"compressor":{"id":"gzip","level":1},"dimension_separator":".","dtype":"<f4","fill_value":null,"filters":null,"order":"C","shape":[5],"zarr_format":2})");
  ASSERT_TRUE(leaves[1].spec);
  EXPECT_EQ(leaves[1].spec->dtype_name, "float64");
  EXPECT_EQ(leaves[1].spec->shape, (Shape{10, 5}));
  EXPECT_EQ(leaves[1].spec->chunks, (Shape{10, 5}));
  ASSERT_TRUE(leaves[2].spec);
  EXPECT_EQ(leaves[2].spec->dtype_name, "int32");
  EXPECT_EQ(leaves[2].spec->shape, Shape{});
  EXPECT_EQ(leaves[2].spec->chunks, Shape{});
  EXPECT_FALSE(leaves[3].spec);
  ASSERT_TRUE(leaves[3].inline_array);
  EXPECT_EQ(leaves[3].inline_array->ext_type, 3);
  EXPECT_EQ(leaves[3].inline_array->dtype.name(), "int32");
  EXPECT_EQ(leaves[3].inline_array->shape, Shape{});
  EXPECT_EQ(hex(leaves[3].inline_array->data), "01000000");
  ASSERT_NE(leaves[3].value, nullptr);
}

TEST(T5xIndex, IsT5xDocument) {
  EXPECT_TRUE(T5xIndex::is_t5x_document(tiny_index().root()));
  EXPECT_FALSE(T5xIndex::is_t5x_document(Value(msgpack::Map{{"version", uint64_t{3}}})));
  EXPECT_FALSE(T5xIndex::is_t5x_document(Value(
      msgpack::Map{{"version", uint64_t{3}}, {"optimizer", msgpack::Map{}}, {"extra", true}})));
  EXPECT_FALSE(T5xIndex::is_t5x_document(Value(uint64_t{3})));
  Bytes not_t5x = msgpack::encode(Value(msgpack::Map{{"_optimizer", msgpack::Map{}}}));
  EXPECT_TE_ERROR(T5xIndex::parse(not_t5x, "/x/checkpoint"), "/x/checkpoint");
}

// Applies a Python edit to the tiny_t5 index dict and returns the msgpack-python bytes.
Bytes python_edited_tiny(const std::string& edit) {
  return python_bytes(
      "o = msgpack.unpackb(open(sys.argv[1], 'rb').read(), raw=False)\nopt = o['optimizer']\n" +
          edit + "\nprint(msgpack.packb(o, use_bin_type=True).hex())\n",
      {kTinyT5Index.string()});
}

TEST(T5xIndex, RemovePrunesEmptiedMaps) {
  T5xIndex index = tiny_index();
  index.remove("state.param_states.bias");
  EXPECT_EQ(hex(index.encode()),
            hex(python_edited_tiny("del opt['state']['param_states']['bias']")));
  index.remove("state.param_states.kernel");
  index.remove("state.param_states.step");
  // param_states became empty and is gone; the pre-existing empty "target" stays.
  EXPECT_EQ(hex(index.encode()), hex(python_edited_tiny("del opt['state']['param_states']")));
  index.remove("state.step");
  EXPECT_EQ(hex(index.encode()), hex(python_edited_tiny("del opt['state']")));
  // Removing what is not there changes nothing.
  Bytes before = index.encode();
  index.remove("state.nothing");
  index.remove("target.x.y");
  index.remove("nope");
  EXPECT_TRUE(index.encode() == before);
}

TEST(T5xIndex, SetCreatesMapsAndReplacesInPlace) {
  T5xIndex index = tiny_index();
  auto meta =
      zarr::ArrayMetadata::make({512, 3, 384}, {512, 3, 384}, zarr::dtype_from_name("float32", "t"),
                                zarr::make_deflate_codec(true, 1));
  index.set("target.encoder.layers_0.attention.qkv.kernel",
            T5xIndex::make_spec_leaf("target.encoder.layers_0.attention.qkv.kernel", meta));
  index.set("state.param_states.bias", Value(uint64_t{7}));  // replaces, keeps its position
  index.set("flax_mutables.fp8_metas.x", Value(std::string("s")));
  Bytes expected = python_edited_tiny(R"(
spec = {'driver': 'zarr', 'dtype': 'float32',
        'kvstore': {'driver': 'file', 'path': 'target.encoder.layers_0.attention.qkv.kernel/'},
        'metadata': {'chunks': [512, 3, 384], 'compressor': {'id': 'gzip', 'level': 1}, 'shape': [512, 3, 384]}}
opt['target']['encoder'] = {'layers_0': {'attention': {'qkv': {'kernel': spec}}}}
opt['state']['param_states']['bias'] = 7
opt['flax_mutables'] = {'fp8_metas': {'x': 's'}}
)");
  EXPECT_EQ(hex(index.encode()), hex(expected));
  // A path through a leaf is refused.
  EXPECT_TE_ERROR(index.set("state.step.inner", Value(uint64_t{1})), "state.step.inner");
  EXPECT_TE_ERROR(index.set("state.param_states.kernel.x", Value(uint64_t{1})),
                  "state.param_states.kernel.x");
}

TEST(T5xIndex, MakeSpecLeafMatchesT5xBytes) {
  auto meta =
      zarr::ArrayMetadata::make({512, 3, 384}, {512, 3, 384}, zarr::dtype_from_name("float32", "t"),
                                zarr::make_deflate_codec(true, 1));
  Bytes got = msgpack::encode(
      T5xIndex::make_spec_leaf("target.encoder.layers_0.attention.qkv.kernel", meta));
  Bytes want = python_bytes(R"(
spec = {'driver': 'zarr', 'dtype': 'float32',
        'kvstore': {'driver': 'file', 'path': 'target.encoder.layers_0.attention.qkv.kernel/'},
        'metadata': {'chunks': [512, 3, 384], 'compressor': {'id': 'gzip', 'level': 1}, 'shape': [512, 3, 384]}}
print(msgpack.packb(spec, use_bin_type=True).hex()))");
  EXPECT_EQ(got.size(), 166u);  // t5x-format.md §1.4
  EXPECT_EQ(hex(got), hex(want));
  auto bf16 = zarr::ArrayMetadata::make({8, 4}, {4, 4}, zarr::dtype_from_name("bfloat16", "t"),
                                        zarr::make_zstd_codec(1));
  Bytes got2 = msgpack::encode(T5xIndex::make_spec_leaf("a.b", bf16));
  Bytes want2 = python_bytes(R"(
spec = {'driver': 'zarr', 'dtype': 'bfloat16', 'kvstore': {'driver': 'file', 'path': 'a.b/'},
        'metadata': {'chunks': [4, 4], 'compressor': {'id': 'zstd', 'level': 1}, 'shape': [8, 4]}}
print(msgpack.packb(spec, use_bin_type=True).hex()))");
  EXPECT_EQ(hex(got2), hex(want2));
}

TEST(T5xIndex, SortKeysLikeT5x) {
  // An index with unsorted nodes, a spec leaf whose own keys are unsorted, and an inline array.
  std::string build = R"(
spec = {'metadata': {'shape': [2], 'chunks': [2], 'compressor': {'level': 1, 'id': 'gzip'}},
        'kvstore': {'path': 'target.z/', 'driver': 'file'}, 'driver': 'zarr', 'dtype': 'float32'}
arr = msgpack.ExtType(1, msgpack.packb([[1], 'float32', b'\x00\x00\x80\x3f'], use_bin_type=True))
o = {'version': 3, 'optimizer': {
  'target': {'z': spec, 'layers_2': {'b': 1, 'a': 2}, 'layers_10': {'y': arr}, 'B': {}, 'a': None},
  'state': {'step': arr, 'param_states': {'\u00e9': 1, 'e': 2, 'Z': 3}}}}
)";
  Bytes unsorted = python_bytes(build + "print(msgpack.packb(o, use_bin_type=True).hex())");
  Bytes sorted = python_bytes(build + R"(
def leaf(v):
    return not isinstance(v, dict) or {'driver', 'kvstore', 'metadata'} <= set(v)
def srt(v):
    return v if leaf(v) else {k: srt(v[k]) for k in sorted(v)}
o['optimizer'] = srt(o['optimizer'])
print(msgpack.packb(o, use_bin_type=True).hex()))");
  T5xIndex index = T5xIndex::parse(unsorted, "u");
  index.sort_keys();
  EXPECT_EQ(hex(index.encode()), hex(sorted));
}

TEST(T5xIndex, OldSpecWithTopLevelPath) {
  Bytes doc = python_bytes(R"(
spec = {'driver': 'zarr', 'dtype': 'bfloat16', 'path': 'target.w//',
        'metadata': {'shape': [4, 2], 'chunks': [2, 2], 'compressor': {'id': 'gzip', 'level': 1}}}
print(msgpack.packb({'version': 3, 'optimizer': {'target': {'w': spec}}}, use_bin_type=True).hex()))");
  T5xIndex index = T5xIndex::parse(doc, "old");
  auto leaves = index.leaves();
  ASSERT_EQ(leaves.size(), 1u);
  ASSERT_TRUE(leaves[0].spec);
  EXPECT_EQ(leaves[0].spec->folder, "target.w");
  EXPECT_EQ(leaves[0].spec->to_metadata("w").dtype.zarr, "bfloat16");
  EXPECT_EQ(leaves[0].spec->chunks, (Shape{2, 2}));
}

TEST(T5xIndex, SpecPathEscapingTheCheckpointIsRefused) {
  for (const char* path : {"../evil/", "/abs/path/", "a/../../b"}) {
    SCOPED_TRACE(path);
    Bytes doc = python_bytes(R"(
spec = {'driver': 'zarr', 'dtype': 'float32', 'kvstore': {'driver': 'file', 'path': sys.argv[1]},
        'metadata': {'shape': [2], 'chunks': [2], 'compressor': {'id': 'gzip', 'level': 1}}}
print(msgpack.packb({'version': 3, 'optimizer': {'target': {'w': spec}}}, use_bin_type=True).hex()))",
                             {path});
    T5xIndex index = T5xIndex::parse(doc, "/ck/checkpoint");
    EXPECT_TE_ERROR(index.leaves(), "/ck/checkpoint");
  }
}

// ---------------------------------------------------------------------------------------------
// Inline arrays

TEST(InlineArray, DecodesAndReencodesFlaxExt) {
  Bytes doc = python_bytes(R"(
def ext(code, shape, dtype, data):
    return msgpack.ExtType(code, msgpack.packb([list(shape), dtype, data], use_bin_type=True))
bf = np.array([0x3f80, 0xc020, 0x0000, 0x7f80, 0x1234, 0xffff], dtype='<u2').tobytes()
o = [ext(1, [2, 3], 'bfloat16', bf),
     ext(1, [3], 'float32', np.array([1.5, -2, 0.25], dtype='<f4').tobytes()),
     ext(3, [], 'int32', np.array(7, dtype='<i4').tobytes()),
     ext(1, [], 'int32', np.array(-1, dtype='<i4').tobytes()),
     ext(1, [2, 0], 'float64', b''),
     ext(1, [300], 'uint8', bytes(range(256)) + bytes(44)),
     ext(1, [2], 'float8_e4m3fn', b'\x38\xb8')]
print(msgpack.packb(o, use_bin_type=True).hex()))");
  Value v = msgpack::decode(doc, "inline");
  const auto& items = std::get<msgpack::Array>(v.v);
  ASSERT_EQ(items.size(), 7u);
  struct Want {
    Shape shape;
    std::string dtype;
    size_t bytes;
    int ext;
  };
  const std::vector<Want> want = {{{2, 3}, "bfloat16", 12, 1}, {{3}, "float32", 12, 1},
                                  {{}, "int32", 4, 3},         {{}, "int32", 4, 1},
                                  {{2, 0}, "float64", 0, 1},   {{300}, "uint8", 300, 1},
                                  {{2}, "float8_e4m3fn", 2, 1}};
  for (size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE(i);
    auto a = decode_inline_array(items[i], "inline");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->shape, want[i].shape);
    EXPECT_EQ(a->dtype.name(), want[i].dtype);
    EXPECT_EQ(a->data.size(), want[i].bytes);
    EXPECT_EQ(a->ext_type, want[i].ext);
    EXPECT_TRUE(msgpack::encode(encode_inline_array(*a)) == msgpack::encode(items[i]));
  }
  EXPECT_EQ(hex(decode_inline_array(items[0], "i")->data), "803f20c00000807f3412ffff");
  EXPECT_EQ(hex(decode_inline_array(items[1], "i")->data), "0000c03f000000c00000803e");
}

TEST(InlineArray, ChunkedArrayMap) {
  Bytes doc = python_bytes(R"(
def ext(shape, dtype, data):
    return msgpack.ExtType(1, msgpack.packb([list(shape), dtype, data], use_bin_type=True))
a = np.arange(12, dtype='<f4')
o = {'__msgpack_chunked_array__': True, 'shape': {'0': 4, '1': 3},
     'chunks': {'0': ext([8], 'float32', a[:8].tobytes()), '1': ext([4], 'float32', a[8:].tobytes())}}
print(msgpack.packb(o, use_bin_type=True).hex()))");
  auto a = decode_inline_array(msgpack::decode(doc, "c"), "c");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->shape, (Shape{4, 3}));
  EXPECT_EQ(a->dtype.name(), "float32");
  std::vector<float> want(12);
  for (int i = 0; i < 12; ++i) want[static_cast<size_t>(i)] = static_cast<float>(i);
  EXPECT_TRUE(a->data == bytes_of_values(want));
}

TEST(InlineArray, OtherValuesAreNotArrays) {
  EXPECT_FALSE(decode_inline_array(Value(uint64_t{3}), "x"));
  EXPECT_FALSE(decode_inline_array(Value(msgpack::Map{{"a", true}}), "x"));
  EXPECT_FALSE(decode_inline_array(
      Value(msgpack::Extension{2, unhex("92cb3ff0000000000000cb0000000000000000")}), "x"));
  EXPECT_FALSE(decode_inline_array(Value(std::string("PLACEHOLDER://x")), "x"));
}

TEST(InlineArray, MalformedIsAnError) {
  Bytes doc = python_bytes(R"(
def ext(parts):
    return msgpack.ExtType(1, msgpack.packb(parts, use_bin_type=True))
o = [ext([[2], 'float32', b'\x00' * 7]),
     ext([[2], 'float32']),
     ext([[2], 'float99', b'\x00' * 8]),
     ext([2, 'float32', b'\x00' * 8]),
     ext([[2], 'float32', 'not bytes!']),
     msgpack.ExtType(1, b'\x93\x91')]
print(msgpack.packb(o, use_bin_type=True).hex()))");
  Value decoded = msgpack::decode(doc, "m");
  const auto& items = std::get<msgpack::Array>(decoded.v);
  for (size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_TE_ERROR(decode_inline_array(items[i], "ckpt: target.w"), "ckpt: target.w");
  }
}

// ---------------------------------------------------------------------------------------------
// The real fixtures

TEST(T5xFixture, TinyT5IndexRoundTripsByteIdentically) {
  Bytes bytes = read_file(kTinyT5Index);
  ASSERT_EQ(bytes.size(), 488u);
  EXPECT_TRUE(msgpack::encode(msgpack::decode(bytes, "tiny")) == bytes);
  EXPECT_TRUE(tiny_index().encode() == bytes);
  T5xIndex sorted = tiny_index();
  sorted.sort_keys();  // T5X wrote it sorted already
  EXPECT_TRUE(sorted.encode() == bytes);
}

TEST(T5xFixture, TinyT5ArraysReadThroughOpenCheckpoint) {
  Checkpoint c = open_checkpoint(kTinyT5);
  EXPECT_EQ(c.format, Format::kT5x);
  EXPECT_TRUE(c.problems.empty()) << c.problems.front();
  EXPECT_TRUE(c.other_entries.empty());
  ASSERT_EQ(c.arrays.size(), 4u);

  const ArrayEntry* bias = c.find("state.param_states.bias");
  ASSERT_NE(bias, nullptr);
  ASSERT_TRUE(bias->folder);
  EXPECT_EQ(bias->metadata.dtype.name(), "float32");
  EXPECT_EQ(bias->metadata.shape, Shape{5});
  EXPECT_EQ(bias->stored_bytes, 26u);
  Bytes b = bias->open().read_all();
  EXPECT_TRUE(b == bytes_of_values(std::vector<float>(5, 1.0f)));

  const ArrayEntry* kernel = c.find("state.param_states.kernel");
  ASSERT_NE(kernel, nullptr);
  EXPECT_EQ(kernel->metadata.dtype.name(), "float64");
  EXPECT_EQ(kernel->metadata.shape, (Shape{10, 5}));
  Bytes k = kernel->open().read_all();
  Bytes want = python_bytes(R"(
import gzip
raw = gzip.decompress(open(sys.argv[1], 'rb').read())
a = np.frombuffer(raw, dtype='<f8').reshape(10, 5)
print(a.tobytes().hex()))",
                            {(kTinyT5 / "state.param_states.kernel" / "0.0").string()});
  ASSERT_EQ(want.size(), 400u);
  EXPECT_EQ(hex(k), hex(want));

  const ArrayEntry* step = c.find("state.param_states.step");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->metadata.dtype.name(), "int32");
  EXPECT_EQ(step->metadata.shape, Shape{});
  EXPECT_EQ(hex(step->open().read_all()), "01000000");

  const ArrayEntry* inline_step = c.find("state.step");
  ASSERT_NE(inline_step, nullptr);
  ASSERT_TRUE(inline_step->is_inline());
  EXPECT_FALSE(inline_step->folder);
  EXPECT_EQ(inline_step->inline_ext_type, 3);
  EXPECT_EQ(inline_step->metadata.dtype.name(), "int32");
  // An inline array reads like any other: a zarr array of one raw chunk in a memory store.
  EXPECT_EQ(hex(inline_step->open().read_all()), "01000000");
  EXPECT_TRUE(msgpack::encode(encode_inline_array(inline_step->to_inline_array())) ==
              unhex("c70e039390a5696e743332c40401000000"));
}

TEST(T5xFixture, AllInlineCheckpointDecodesAndReencodes) {
  Bytes bytes = read_file(kAllInline);
  Value root = msgpack::decode(bytes, kAllInline.string());
  EXPECT_TRUE(msgpack::encode(root) == bytes);
  T5xIndex index = T5xIndex::parse(bytes, kAllInline.string());
  EXPECT_TRUE(index.encode() == bytes);
  // Every inline leaf re-encodes to the bytes flax wrote.
  size_t inline_leaves = 0;
  for (const auto& leaf : index.leaves()) {
    if (!leaf.inline_array) continue;
    ++inline_leaves;
    EXPECT_TRUE(msgpack::encode(encode_inline_array(*leaf.inline_array)) ==
                msgpack::encode(*leaf.value))
        << leaf.path;
  }
  EXPECT_EQ(inline_leaves, 261u);
}

TEST(T5xFixture, AllInlineCheckpointArrays) {
  Checkpoint c = open_checkpoint(kAllInline);
  EXPECT_EQ(c.format, Format::kT5x);
  EXPECT_TRUE(c.problems.empty());
  EXPECT_EQ(c.arrays.size(), 261u);
  for (const auto& a : c.arrays) EXPECT_TRUE(a.is_inline()) << a.name;
  const std::vector<std::tuple<std::string, Shape, std::string>> expected = {
      {"target.token_embedder.embedding", {32128, 8}, "float32"},
      {"target.decoder.logits_dense.kernel", {8, 32128}, "float32"},
      {"target.encoder.layers_0.attention.query.kernel", {8, 12}, "float32"},
      {"target.encoder.layers_1.attention.out.kernel", {12, 8}, "float32"},
      {"target.encoder.layers_0.mlp.wi_0.kernel", {8, 16}, "float32"},
      {"target.decoder.layers_1.mlp.wo.kernel", {16, 8}, "float32"},
      {"target.decoder.layers_0.encoder_decoder_attention.key.kernel", {8, 12}, "float32"},
      {"target.encoder.relpos_bias.rel_embedding", {4, 32}, "float32"},
      {"target.decoder.decoder_norm.scale", {8}, "float32"},
      {"state.step", {}, "int32"},
      {"state.param_states.encoder.layers_0.mlp.wi_0.kernel.v", {8, 16}, "float32"},
      {"state.param_states.decoder.decoder_norm.scale.v_row", {1}, "float32"},
  };
  for (const auto& [name, shape, dtype] : expected) {
    SCOPED_TRACE(name);
    const ArrayEntry* a = c.find(name);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->metadata.shape, shape);
    EXPECT_EQ(a->metadata.dtype.name(), dtype);
    EXPECT_EQ(a->open().read_all().size(), static_cast<size_t>(num_elements(shape)) * 4);
  }
  // Values as numpy reads them from the msgpack.
  Bytes want = python_bytes(R"(
o = msgpack.unpackb(open(sys.argv[1], 'rb').read(), raw=False)
shape, dtype, data = msgpack.unpackb(o['optimizer']['target']['encoder']['layers_0']['attention']['query']['kernel'].data, raw=False)
a = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder('<')).reshape(shape)
print(a.astype('<f4').tobytes().hex()))",
                            {kAllInline.string()});
  const ArrayEntry* q = c.find("target.encoder.layers_0.attention.query.kernel");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(hex(q->open().read_all()), hex(want));
  const ArrayEntry* step = c.find("state.step");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(hex(step->open().read_all()), "00000000");
}

TEST(T5xFixture, TinyOrbaxIsRefused) {
  EXPECT_TE_ERROR(open_checkpoint(kTinyOrbax), "Orbax");
  EXPECT_TE_ERROR(open_checkpoint(kTinyOrbax / "checkpoint"), "Orbax");
}

TEST(T5xFixture, TinyOrbaxZstdChunkWithoutContentSizeDecodes) {
  fs::path chunk = kTinyOrbax / "_optimizer.state.param_states.kernel" / "0.0";
  Bytes frame = read_file(chunk);
  ASSERT_GE(frame.size(), 6u);
  EXPECT_EQ(hex(std::span(frame).first(5)), "28b52ffd00");  // no Frame_Content_Size
  // The reference decoding: the zstd command-line tool.
  std::string cmd = "zstd -q -d -c ";
  cmd += shell_quote(chunk.string());
  RunResult r = run_shell(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Bytes raw = bytes_of(r.out);
  ASSERT_FALSE(raw.empty());
  Bytes got = zarr::make_zstd_codec(1)->decode(frame, raw.size(), chunk.string());
  EXPECT_TRUE(got == raw);
  EXPECT_TE_ERROR(zarr::make_zstd_codec(1)->decode(frame, raw.size() + 8, chunk.string()),
                  chunk.string());
}

}  // namespace
}  // namespace te::checkpoint
