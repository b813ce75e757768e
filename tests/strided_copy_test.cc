// strided_copy against a naive element-by-element reference: transposes, merges, sub-boxes, zero
// strides, every item size.
#include "util/strided_copy.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "test_util.h"

namespace te {
namespace {

using namespace te::testing;

void naive_copy(const std::byte* src, const std::vector<int64_t>& ss, std::byte* dst,
                const std::vector<int64_t>& ds, const std::vector<int64_t>& extent, size_t item) {
  int64_t n = 1;
  for (int64_t e : extent) n *= e;
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t rest = flat, so = 0, doff = 0;
    for (size_t i = extent.size(); i-- > 0;) {
      int64_t idx = rest % extent[i];
      rest /= extent[i];
      so += idx * ss[i];
      doff += idx * ds[i];
    }
    for (size_t b = 0; b < item; ++b)
      dst[doff + static_cast<int64_t>(b)] = src[so + static_cast<int64_t>(b)];
  }
}

// Byte extent (one past the last byte) a layout can touch.
int64_t span_of(const std::vector<int64_t>& strides, const std::vector<int64_t>& extent,
                size_t item) {
  int64_t s = static_cast<int64_t>(item);
  for (size_t i = 0; i < extent.size(); ++i) s += (extent[i] - 1) * strides[i];
  return s;
}

void check(const std::vector<int64_t>& ss, const std::vector<int64_t>& ds,
           const std::vector<int64_t>& extent, size_t item, uint32_t seed) {
  bool empty = std::any_of(extent.begin(), extent.end(), [](int64_t e) { return e == 0; });
  int64_t src_span = empty ? 1 : span_of(ss, extent, item),
          dst_span = empty ? 1 : span_of(ds, extent, item);
  Bytes src = random_bytes(static_cast<size_t>(src_span), seed);
  Bytes dst = random_bytes(static_cast<size_t>(dst_span), seed + 1);  // untouched bytes must stay
  Bytes want = dst;
  naive_copy(src.data(), ss, want.data(), ds, extent, item);
  strided_copy(src.data(), ss, dst.data(), ds, extent, item);
  EXPECT_TRUE(dst == want) << "extent " << shape_string(extent) << " src " << shape_string(ss)
                           << " dst " << shape_string(ds) << " item " << item;
}

std::vector<int64_t> permuted_strides(const std::vector<int64_t>& shape,
                                      const std::vector<size_t>& perm, size_t item) {
  // Dense strides of a layout whose dimension order (outer to inner) is `perm`.
  std::vector<int64_t> strides(shape.size());
  int64_t s = static_cast<int64_t>(item);
  for (size_t k = perm.size(); k-- > 0;) {
    strides[perm[k]] = s;
    s *= shape[perm[k]];
  }
  return strides;
}

TEST(StridedCopy, COrderStrides) {
  EXPECT_EQ(c_order_strides({3, 8, 4}, 2), (std::vector<int64_t>{64, 8, 2}));
  EXPECT_EQ(c_order_strides({}, 4), std::vector<int64_t>{});
  EXPECT_EQ(c_order_strides({5}, 16), std::vector<int64_t>{16});
  EXPECT_EQ(c_order_strides({2, 0, 3}, 1), (std::vector<int64_t>{0, 3, 1}));
}

TEST(StridedCopy, DenseCopyAllItemSizes) {
  for (size_t item : {1, 2, 3, 4, 6, 8, 16}) {
    check(c_order_strides({3, 5, 7}, item), c_order_strides({3, 5, 7}, item), {3, 5, 7}, item, 1);
    check(c_order_strides({100}, item), c_order_strides({100}, item), {100}, item, 2);
  }
}

TEST(StridedCopy, RankZeroAndUnitDims) {
  for (size_t item : {1, 2, 4, 8, 16}) {
    check({}, {}, {}, item, 3);
    check({40, 8}, {8, 8}, {1, 1}, item, 4);
    check(c_order_strides({1, 6, 1, 5}, item), c_order_strides({1, 6, 1, 5}, item), {1, 6, 1, 5},
          item, 5);
  }
}

TEST(StridedCopy, EmptyExtentWritesNothing) {
  Bytes src = random_bytes(64, 6), dst = random_bytes(64, 7), before = dst;
  strided_copy(src.data(), {16, 4}, dst.data(), {16, 4}, {4, 0}, 4);
  EXPECT_TRUE(dst == before);
  strided_copy(src.data(), {16, 4}, dst.data(), {16, 4}, {0, 4}, 4);
  EXPECT_TRUE(dst == before);
}

TEST(StridedCopy, AllTransposes) {
  std::vector<std::vector<int64_t>> shapes = {{2, 3},       {37, 45},    {3, 4, 5},
                                              {2, 3, 4, 5}, {65, 1, 33}, {7, 70, 2}};
  for (const auto& shape : shapes) {
    std::vector<size_t> perm(shape.size());
    std::iota(perm.begin(), perm.end(), 0);
    uint32_t seed = 10;
    do {
      for (size_t item : {1, 2, 4, 8, 16}) {
        check(c_order_strides(shape, item), permuted_strides(shape, perm, item), shape, item, seed);
        check(permuted_strides(shape, perm, item), c_order_strides(shape, item), shape, item,
              seed + 1);
        seed += 2;
      }
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST(StridedCopy, LargeTransposeUsesTilesCorrectly) {
  // Sizes not multiples of any tile size, both directions, several item sizes.
  for (size_t item : {1, 2, 4, 8, 16}) {
    std::vector<int64_t> shape = {131, 67};
    check(c_order_strides(shape, item), permuted_strides(shape, {1, 0}, item), shape, item, 20);
    std::vector<int64_t> shape3 = {3, 50, 97};
    check(c_order_strides(shape3, item), permuted_strides(shape3, {0, 2, 1}, item), shape3, item,
          21);
    check(c_order_strides(shape3, item), permuted_strides(shape3, {2, 1, 0}, item), shape3, item,
          22);
  }
}

TEST(StridedCopy, SubBoxesOfLargerArrays) {
  std::mt19937 rng(30);
  for (int trial = 0; trial < 300; ++trial) {
    size_t rank = 1 + rng() % 4;
    size_t item = std::vector<size_t>{1, 2, 4, 8, 16, 3}[rng() % 6];
    std::vector<int64_t> src_shape(rank), dst_shape(rank), extent(rank);
    for (size_t i = 0; i < rank; ++i) {
      extent[i] = 1 + rng() % 9;
      src_shape[i] = extent[i] + rng() % 4;
      dst_shape[i] = extent[i] + rng() % 4;
    }
    std::vector<size_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    auto ss = c_order_strides(src_shape, item);
    auto ds = permuted_strides(dst_shape, perm, item);
    // Offset the box inside both arrays.
    int64_t so = 0, doff = 0;
    for (size_t i = 0; i < rank; ++i) {
      so += (src_shape[i] - extent[i]) / 2 * ss[i];
      doff += (dst_shape[i] - extent[i]) / 2 * ds[i];
    }
    Bytes src = random_bytes(static_cast<size_t>(span_of(ss, src_shape, item)), trial);
    Bytes dst = random_bytes(static_cast<size_t>(span_of(ds, dst_shape, item)), trial + 1000);
    Bytes want = dst;
    naive_copy(src.data() + so, ss, want.data() + doff, ds, extent, item);
    strided_copy(src.data() + so, ss, dst.data() + doff, ds, extent, item);
    EXPECT_TRUE(dst == want) << "trial " << trial;
  }
}

TEST(StridedCopy, MergeableDimensions) {
  // Contiguous in both layouts: one long run; contiguous only in the source: element loop.
  for (size_t item : {1, 2, 4, 8, 16}) {
    check(c_order_strides({4, 5, 6}, item), c_order_strides({4, 5, 6}, item), {4, 5, 6}, item, 40);
    check(c_order_strides({4, 5, 6}, item), c_order_strides({4, 5, 8}, item), {4, 5, 6}, item, 41);
    check(c_order_strides({4, 7, 6}, item), c_order_strides({4, 5, 6}, item), {4, 5, 6}, item, 42);
    // Inner element stride larger than the item (every other element).
    int64_t i2 = 2 * static_cast<int64_t>(item);
    check({6 * i2, i2}, c_order_strides({4, 6}, item), {4, 6}, item, 43);
  }
}

TEST(StridedCopy, ZeroSourceStridesBroadcast) {
  for (size_t item : {1, 2, 4, 8, 16}) {
    int64_t it = static_cast<int64_t>(item);
    check({0, it}, c_order_strides({5, 7}, item), {5, 7}, item, 50);  // repeat a row
    check({it, 0}, c_order_strides({5, 7}, item), {5, 7}, item, 51);  // repeat each element
    check({0, 0}, c_order_strides({5, 7}, item), {5, 7}, item, 52);   // one element everywhere
    check({0, 3 * it, it}, c_order_strides({4, 2, 3}, item), {4, 2, 3}, item, 53);
    check({0, it}, permuted_strides({40, 40}, {1, 0}, item), {40, 40}, item,
          54);  // broadcast + transpose
  }
}

}  // namespace
}  // namespace te
