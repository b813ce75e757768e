// Chunk copies (plan/chunk_copy.h): the planner's decision that every output chunk is one input
// chunk byte for byte, checked against the bytes themselves. For each case the input arrays are
// filled with distinct values, their padded chunks laid out in their memory order (zero padding,
// the raw codec), and the output computed by the rearrangement engine and cut into padded C-order
// chunks. A job judged copyable must give, for every output chunk, exactly the bytes of the input
// chunk source_chunk() names; a job judged not copyable must be one where such a copy would give
// wrong bytes (so each refusal below is needed, not merely cautious).
#include "plan/chunk_copy.h"

#include <map>

#include "test_util.h"
#include "transform/pattern.h"
#include "util/strided_copy.h"
#include "zarr/v3_array_metadata.h"
#include "zarr/v3_codecs.h"
#include "zarr/v3_metadata.h"

namespace te::plan {
namespace {

using namespace te::testing;
using transform::AxisPattern;
using transform::Rearrangement;

constexpr size_t kItem = 2;  // <u2: values 1.. distinct, padding 0

struct Array {
  zarr::ArrayMetadata meta;
  Bytes dense;  // C order over the shape
};

zarr::ArrayMetadata meta_of(const Shape& shape, const Shape& chunks, char order = 'C',
                            std::shared_ptr<const zarr::Codec> codec = zarr::make_null_codec(),
                            const std::string& dtype = "<u2") {
  auto m = zarr::ArrayMetadata::make(shape, chunks, zarr::parse_zarr_dtype(dtype, "test"),
                                     std::move(codec));
  m.order = order;
  return m;
}

// The padded chunk's decoded bytes in the array's memory order.
Bytes chunk_bytes(const Array& a, const Shape& chunk) {
  const auto& m = a.meta;
  const size_t rank = m.shape.size();
  Bytes out(static_cast<size_t>(num_elements(m.chunks)) * kItem, std::byte{0});
  const auto dense_strides = c_order_strides(m.shape, kItem);
  std::vector<int64_t> chunk_strides(rank);
  int64_t s = kItem;
  for (size_t k = 0; k < rank; ++k) {  // F: first axis fastest; C: last axis fastest
    size_t d = m.order == 'F' ? k : rank - 1 - k;
    chunk_strides[d] = s;
    s *= m.chunks[d];
  }
  Shape pos(rank, 0);
  for (int64_t n = 0; n < num_elements(m.chunks); ++n) {
    int64_t rest = n, src = 0, dst = 0;
    bool inside = true;
    for (size_t d = rank; d-- > 0;) {
      pos[d] = rest % m.chunks[d];
      rest /= m.chunks[d];
      int64_t global = chunk[d] * m.chunks[d] + pos[d];
      inside &= global < m.shape[d];
      src += global * dense_strides[d];
      dst += pos[d] * chunk_strides[d];
    }
    if (inside)
      std::memcpy(&out[static_cast<size_t>(dst)], &a.dense[static_cast<size_t>(src)], kItem);
  }
  return out;
}

Shape chunk_at(const Shape& grid, int64_t index) {
  Shape c(grid.size());
  for (size_t d = grid.size(); d-- > 0;) {
    c[d] = index % grid[d];
    index /= grid[d];
  }
  return c;
}

struct Case {
  std::vector<std::string> in_patterns, out_patterns;
  std::map<std::string, int64_t> sizes;
  std::vector<zarr::ArrayMetadata> inputs;   // shapes must match the patterns
  std::vector<zarr::ArrayMetadata> outputs;  // chunks (and codec/order) of the outputs
};

Rearrangement compile(const Case& c) {
  std::vector<AxisPattern> in, out;
  for (const auto& p : c.in_patterns) in.push_back(transform::parse_axis_pattern(p));
  for (const auto& p : c.out_patterns) out.push_back(transform::parse_axis_pattern(p));
  return Rearrangement::compile(in, out, "s", c.sizes);
}

// Whether copying the input chunk source_chunk() names gives every output chunk its right bytes.
bool copies_are_right(const Case& c) {
  Rearrangement r = compile(c);
  std::vector<Array> in;
  uint16_t next = 1;
  for (const auto& m : c.inputs) {
    Array a{m, Bytes(static_cast<size_t>(num_elements(m.shape)) * kItem)};
    for (size_t e = 0; e < a.dense.size() / kItem; ++e, ++next) {
      std::memcpy(&a.dense[e * kItem], &next, kItem);
    }
    in.push_back(std::move(a));
  }
  for (size_t o = 0; o < c.outputs.size(); ++o) {
    Array out{c.outputs[o], Bytes(static_cast<size_t>(num_elements(c.outputs[o].shape)) * kItem)};
    for (size_t i = 0; i < in.size(); ++i) {
      r.copy(r.inputs[i], in[i].dense.data(), r.outputs[o], out.dense.data(), r.full_box(), kItem);
    }
    const Shape grid = out.meta.grid_shape();
    for (int64_t n = 0; n < num_elements(grid); ++n) {
      Shape chunk = chunk_at(grid, n);
      ChunkSource src = source_chunk(r, o, chunk);
      if (src.input >= in.size()) return false;
      const Shape in_grid = in[src.input].meta.grid_shape();
      for (size_t d = 0; d < src.chunk.size(); ++d) {
        if (src.chunk[d] < 0 || src.chunk[d] >= in_grid[d]) return false;
      }
      if (chunk_bytes(in[src.input], src.chunk) != chunk_bytes(out, chunk)) return false;
    }
  }
  return true;
}

// Asserts the decision and that it is right: copyable cases copy right, refused ones would not.
void expect_copyable(const Case& c, bool copyable, const std::string& reason_part = "") {
  Rearrangement r = compile(c);
  auto obstacle = chunk_copy_obstacle(r, c.inputs, c.outputs);
  EXPECT_EQ(!obstacle, copyable) << obstacle.value_or("copyable");
  if (obstacle && !reason_part.empty()) {
    EXPECT_NE(obstacle->find(reason_part), std::string::npos) << *obstacle;
  }
  EXPECT_EQ(copies_are_right(c), copyable)
      << (copyable
              ? "judged copyable, but copied chunks hold wrong bytes"
              : "refused, but copying would have been right: the test does not need the check");
}

TEST(ChunkCopy, UnitAxisInsertedAndRemoved) {
  Case c{{"e f"},
         {"e 1 f"},
         {{"e", 6}, {"f", 5}},
         {meta_of({6, 5}, {4, 5})},
         {meta_of({6, 1, 5}, {4, 1, 5})}};
  expect_copyable(c, true);  // padded edge chunk along e: same padding positions
  Case back{
      {"e 1 f"}, {"e f"}, c.sizes, {meta_of({6, 1, 5}, {4, 1, 2})}, {meta_of({6, 5}, {4, 2})}};
  expect_copyable(back, true);
  Case vec{{"f"}, {"1 f"}, {{"f", 7}}, {meta_of({7}, {3})}, {meta_of({1, 7}, {1, 3})}};
  expect_copyable(vec, true);
}

TEST(ChunkCopy, MergedTrailingAxesWhole) {
  // s n h -> s (n h): a chunk holding whole n and h is one output chunk.
  Case c{{"s n h"},
         {"s (n h)"},
         {{"s", 5}, {"n", 3}, {"h", 2}},
         {meta_of({5, 3, 2}, {2, 3, 2})},
         {meta_of({5, 6}, {2, 6})}};
  expect_copyable(c, true);
  Case back{
      {"s (n h)"}, {"s n h"}, c.sizes, {meta_of({5, 6}, {2, 6})}, {meta_of({5, 3, 2}, {2, 3, 2})}};
  expect_copyable(back, true);
}

TEST(ChunkCopy, MergedAxisWithPartialEdgeChunkInTheOuterAxis) {
  // n chunked 2 of 3 (a padded edge chunk in n), h whole: the output's merged chunk of 2*h covers
  // the same elements with padding where n reaches past 3, at the same byte positions.
  Case c{{"n h"}, {"(n h)"}, {{"n", 3}, {"h", 2}}, {meta_of({3, 2}, {2, 2})}, {meta_of({6}, {4})}};
  expect_copyable(c, true);
  // The output merged whole (chunk 6) while the input has a partial edge chunk in n: not a copy.
  Case whole{{"n h"}, {"(n h)"}, c.sizes, {meta_of({3, 2}, {2, 2})}, {meta_of({6}, {6})}};
  expect_copyable(whole, false, "chunk extent along n");
  // The input's chunk along n larger than n (3 of 3 in a chunk of 4): padded to 4 * h, so an
  // output chunk of exactly n * h has other bytes.
  Case over{{"n h"}, {"(n h)"}, c.sizes, {meta_of({3, 2}, {4, 2})}, {meta_of({6}, {6})}};
  expect_copyable(over, false, "chunk extent along n");
}

TEST(ChunkCopy, MergedAxisNotWholeIsRefused) {
  // h chunked 1 of 2: an input chunk is not a contiguous piece of (n h).
  Case c{{"n h"}, {"(n h)"}, {{"n", 3}, {"h", 2}}, {meta_of({3, 2}, {3, 1})}, {meta_of({6}, {3})}};
  expect_copyable(c, false, "output chunk 3 along a merged axis");
  // The output's merged chunk does not hold h whole.
  Case split{{"(n h)"}, {"n h"}, c.sizes, {meta_of({6}, {3})}, {meta_of({3, 2}, {3, 1})}};
  expect_copyable(split, false, "input chunk 3 along a merged axis");
}

TEST(ChunkCopy, StackAxisWithChunkOne) {
  Case c{{"e d", "e d", "e d"},
         {"e s d"},
         {{"e", 5}, {"d", 3}},
         {meta_of({5, 3}, {2, 3}), meta_of({5, 3}, {2, 3}), meta_of({5, 3}, {2, 3})},
         {meta_of({5, 3, 3}, {2, 1, 3})}};
  expect_copyable(c, true);
  auto chunks = copyable_chunks(compile(c), 0, c.inputs);
  ASSERT_TRUE(chunks);
  EXPECT_EQ(*chunks, (Shape{2, 1, 3}));
  Case merged = c;
  merged.outputs = {meta_of({5, 3, 3}, {2, 3, 3})};
  expect_copyable(merged, false, "chunk extent along s");
  Case split{{"e s d"},
             {"e d", "e d", "e d"},
             c.sizes,
             {meta_of({5, 3, 3}, {2, 1, 3})},
             {meta_of({5, 3}, {2, 3}), meta_of({5, 3}, {2, 3}), meta_of({5, 3}, {2, 3})}};
  expect_copyable(split, true);
  // Members chunked differently: no one output chunking fits them all.
  Case uneven = c;
  uneven.inputs[1] = meta_of({5, 3}, {3, 3});
  EXPECT_FALSE(copyable_chunks(compile(uneven), 0, uneven.inputs));
  uneven.outputs = {meta_of({5, 3, 3}, {2, 1, 3})};
  expect_copyable(uneven, false, "chunk extent along e");
}

TEST(ChunkCopy, RepeatLayerAxisChunkedAlike) {
  Case c{{"l e f"},
         {"l e 1 f"},
         {{"l", 5}, {"e", 4}, {"f", 3}},
         {meta_of({5, 4, 3}, {2, 4, 3})},
         {meta_of({5, 4, 1, 3}, {2, 4, 1, 3})}};
  expect_copyable(c, true);
  Case other = c;
  other.outputs = {meta_of({5, 4, 1, 3}, {1, 4, 1, 3})};
  expect_copyable(other, false, "chunk extent along l");
}

TEST(ChunkCopy, OnlySomeAxesLineUp) {
  // Multi-chunk along e and f, but the output chunks f differently: not a copy.
  Case c{{"e f"},
         {"e 1 f"},
         {{"e", 6}, {"f", 6}},
         {meta_of({6, 6}, {3, 2})},
         {meta_of({6, 1, 6}, {3, 1, 3})}};
  expect_copyable(c, false, "chunk extent along f");
  c.outputs = {meta_of({6, 1, 6}, {3, 1, 2})};
  expect_copyable(c, true);
}

TEST(ChunkCopy, TransposeIsACopyOnlyWhenAtMostOneAxisIsChunkedAcross) {
  Case t{{"e n h"},
         {"(n h) e"},
         {{"e", 4}, {"n", 2}, {"h", 3}},
         {meta_of({4, 2, 3}, {2, 2, 3})},
         {meta_of({6, 4}, {6, 2})}};
  expect_copyable(t, false, "memory order");
  // Chunk 1 along e: every chunk holds one e, laid out (n h) in both arrays.
  Case one{
      {"e n h"}, {"(n h) e"}, t.sizes, {meta_of({4, 2, 3}, {1, 2, 3})}, {meta_of({6, 4}, {6, 1})}};
  expect_copyable(one, true);
}

TEST(ChunkCopy, FortranOrder) {
  // An F-order input chunked across two axes: its bytes are in the other order.
  Case f{{"e f"},
         {"e 1 f"},
         {{"e", 4}, {"f", 3}},
         {meta_of({4, 3}, {2, 3}, 'F')},
         {meta_of({4, 1, 3}, {2, 1, 3})}};
  expect_copyable(f, false, "memory order");
  // One axis of extent > 1 per chunk: F and C bytes are the same.
  Case row{
      {"e f"}, {"e 1 f"}, f.sizes, {meta_of({4, 3}, {1, 3}, 'F')}, {meta_of({4, 1, 3}, {1, 1, 3})}};
  expect_copyable(row, true);
}

// Metadata that does not change the decoded layout but changes the stored bytes or their meaning.
TEST(ChunkCopy, DtypeByteOrderCodecLevelAndFillMustAgree) {
  std::map<std::string, int64_t> sizes{{"e", 4}, {"f", 3}};
  auto job = [&](zarr::ArrayMetadata in, zarr::ArrayMetadata out) {
    Rearrangement r = compile({{"e f"}, {"e 1 f"}, sizes, {}, {}});
    return chunk_copy_obstacle(r, {std::move(in)}, {std::move(out)});
  };
  auto zstd3 = zarr::make_zstd_codec(3);
  EXPECT_FALSE(job(meta_of({4, 3}, {2, 3}, 'C', zstd3), meta_of({4, 1, 3}, {2, 1, 3}, 'C', zstd3)));
  auto level = job(meta_of({4, 3}, {2, 3}, 'C', zstd3),
                   meta_of({4, 1, 3}, {2, 1, 3}, 'C', zarr::make_zstd_codec(1)));
  ASSERT_TRUE(level);
  EXPECT_NE(level->find("codec differs"), std::string::npos) << *level;
  EXPECT_TRUE(job(meta_of({4, 3}, {2, 3}, 'C', zarr::make_deflate_codec(true, 1)),
                  meta_of({4, 1, 3}, {2, 1, 3}, 'C', zarr::make_deflate_codec(false, 1))));
  auto order =
      job(meta_of({4, 3}, {2, 3}, 'C', zstd3, ">u2"), meta_of({4, 1, 3}, {2, 1, 3}, 'C', zstd3));
  ASSERT_TRUE(order);
  EXPECT_NE(order->find("dtype differs (>u2 and <u2)"), std::string::npos) << *order;
  EXPECT_FALSE(job(meta_of({4, 3}, {2, 3}, 'C', zstd3, ">u2"),
                   meta_of({4, 1, 3}, {2, 1, 3}, 'C', zstd3, ">u2")));
  auto filled = meta_of({4, 3}, {2, 3});
  filled.fill_value = bytes_of({7, 0});
  filled.fill_value_is_null = false;
  auto fill = job(filled, meta_of({4, 1, 3}, {2, 1, 3}));
  ASSERT_TRUE(fill);
  EXPECT_NE(fill->find("fill value"), std::string::npos) << *fill;
  // A fill value of zero reads like the output's null fill: missing chunks stay missing.
  auto zero = meta_of({4, 3}, {2, 3});
  zero.fill_value = bytes_of({0, 0});
  zero.fill_value_is_null = false;
  EXPECT_FALSE(job(zero, meta_of({4, 1, 3}, {2, 1, 3})));
}

TEST(ChunkCopy, Zarr3ArraysTakePartThroughPlainPayloads) {
  std::map<std::string, int64_t> sizes{{"e", 4}, {"f", 3}};
  auto job = [&](zarr::ArrayMetadata in, zarr::ArrayMetadata out) {
    Rearrangement r = compile({{"e f"}, {"e 1 f"}, sizes, {}, {}});
    return chunk_copy_obstacle(r, {std::move(in)}, {std::move(out)});
  };
  auto zstd3 = zarr::make_zstd_codec(3);
  const auto v2_in = meta_of({4, 3}, {2, 3}, 'C', zstd3);
  const auto v2_out = meta_of({4, 1, 3}, {2, 1, 3}, 'C', zstd3);
  const auto v3_in = zarr::v3::v3_equivalent_of(v2_in, "in");
  const auto v3_out = zarr::v3::v3_equivalent_of(v2_out, "out");
  // Orbax's form (sharding_indexed, bytes little + zstd): v2 <-> zarr3 and zarr3 -> zarr3.
  EXPECT_FALSE(job(v3_in, v3_out));
  EXPECT_FALSE(job(v2_in, v3_out));
  EXPECT_FALSE(job(v3_in, v2_out));
  // Another level is another codec, as for zarr v2.
  auto level = job(v3_in, zarr::v3::v3_equivalent_of(
                              meta_of({4, 1, 3}, {2, 1, 3}, 'C', zarr::make_zstd_codec(1)), "o"));
  ASSERT_TRUE(level);
  EXPECT_NE(level->find("codec differs"), std::string::npos) << *level;
  // A crc32c after the inner compression: the stored bytes are not the compressor's output.
  zarr::v3::V3Metadata checked = *v3_in.v3;
  const zarr::v3::ShardingConfig old = *checked.codecs.codecs[0].sharding;
  zarr::v3::CodecChain inner = *old.codecs;
  inner.codecs.push_back(zarr::v3::crc32c_codec());
  checked.codecs.codecs[0] = zarr::v3::sharding_codec(old.chunk_shape, inner, *old.index_codecs);
  auto crc = job(zarr::v3::array_metadata_of(checked, "in"), v3_out);
  ASSERT_TRUE(crc);
  EXPECT_NE(crc->find("crc32c"), std::string::npos) << *crc;
}

}  // namespace
}  // namespace te::plan
