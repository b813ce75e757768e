// Integer flags, checked sizes and the size limits of one array: values that do not fit are
// refused with a message, never clamped, wrapped or allocated.
#include <atomic>
#include <limits>
#include <nlohmann/json.hpp>

#include "exec/worker_pool.h"
#include "plan/output_chunking.h"
#include "plan/plan.h"
#include "test_util.h"
#include "util/checked_math.h"
#include "util/parse_number.h"
#include "zarr/metadata.h"

namespace te {
namespace {

TEST(ParseIntFlag, AcceptsDecimalInRange) {
  EXPECT_EQ(parse_int_flag("4", "--num-of-head", 1, 8), 4);
  EXPECT_EQ(parse_int_flag("+4", "--num-of-head", 1, 8), 4);
  EXPECT_EQ(parse_int_flag("010", "--num-of-head", 1, 100), 10);  // decimal, not octal
  EXPECT_EQ(parse_int_flag("-3", "--level", -5, 5), -3);
  EXPECT_EQ(parse_int_flag("9223372036854775807", "--x", 0, INT64_MAX), INT64_MAX);
}

TEST(ParseIntFlag, RefusesOutOfRangeAndNonIntegers) {
  EXPECT_TE_ERROR(parse_int_flag("99999999999999999999", "--num-of-head", 1, 100),
                  "--num-of-head=99999999999999999999 is out of range", "1 to 100");
  EXPECT_TE_ERROR(parse_int_flag("-99999999999999999999", "--x", -1, 1), "out of range");
  EXPECT_TE_ERROR(parse_int_flag("0", "--jobs", 1, 1024), "--jobs=0 is out of range");
  EXPECT_TE_ERROR(parse_int_flag("1025", "--jobs", 1, 1024), "--jobs=1025 is out of range");
  for (const char* bad : {"", "-", "+", "0x10", "1e3", "4 ", " 4", "four", "4.0", "+-4"}) {
    EXPECT_TE_ERROR(parse_int_flag(bad, "--num-of-head", 1, 100), "--num-of-head",
                    "is not an integer");
  }
}

TEST(CheckedMath, DetectsOverflow) {
  EXPECT_EQ(checked_mul(int64_t{1} << 31, int64_t{1} << 31), int64_t{1} << 62);
  EXPECT_FALSE(checked_mul(int64_t{1} << 32, int64_t{1} << 31));
  EXPECT_FALSE(checked_mul(1152921504606846977, 64));  // the T5X N*H of the issue
  EXPECT_EQ(checked_product({3, 4, 5}, 2), 120);
  EXPECT_EQ(checked_product({}, 4), 4);
  EXPECT_FALSE(checked_product({int64_t{1} << 40, int64_t{1} << 40}));
  EXPECT_EQ(checked_product({int64_t{1} << 40, int64_t{1} << 40, 0}), 0);
  EXPECT_FALSE(checked_product({-1, 2}));
}

zarr::ArrayMetadata metadata(const std::string& shape, const std::string& chunks) {
  return zarr::ArrayMetadata::parse(
      R"({"zarr_format":2,"dtype":"<f4","compressor":null,"fill_value":null,"order":"C","shape":)" +
          shape + R"(,"chunks":)" + chunks + "}",
      "x/.zarray");
}

TEST(ArrayLimits, RefusesArraysPastTheLimits) {
  EXPECT_NO_THROW(metadata("[1024,1024]", "[64,64]"));
  // 2^50 bytes exactly is allowed, one element more is not.
  EXPECT_NO_THROW(metadata("[262144,1073741824]", "[1,1]"));
  EXPECT_TE_ERROR(metadata("[262145,1073741824]", "[1,1]"), "x/.zarray", "too large", "2^50");
  EXPECT_TE_ERROR(metadata("[1099511627776,1099511627776,16]", "[1,1,1]"), "x/.zarray",
                  "the array is too large");
  EXPECT_TE_ERROR(metadata("[0,1152921504606846976]", "[1,1]"), "dimension 1152921504606846976");
  EXPECT_TE_ERROR(metadata("[4,4]", "[1048576,1048576]"), "the chunk is too large", "2^40");
  EXPECT_TE_ERROR(metadata("[4]", "[9223372036854775807]"), "the chunk is too large");
  // The chunk grid of a large dimension does not overflow.
  auto m = metadata("[281474976710655]", "[1048576]");
  EXPECT_EQ(m.grid_shape(), Shape{268435456});
}

// T5X's chunk choice finds divisors up to the square root: a dimension of 2^31 - 1 (a prime) or
// 2^40 takes no time, and the result matches a direct search on small shapes.
TEST(T5xChunkShape, LargeDimensions) {
  EXPECT_EQ(plan::largest_dividing_chunks({2147483647}, 1 << 24), Shape{1});
  EXPECT_EQ(plan::largest_dividing_chunks({int64_t{1} << 40}, 1 << 24), Shape{1 << 24});
  EXPECT_EQ(plan::largest_dividing_chunks({36, 10}, 50), (Shape{9, 5}));
}

TEST(WorkerPool, MakesGroupTasksOnDemand) {
  // A group of 2^40 tasks is never listed: it is made task by task, and an error stops it.
  std::atomic<uint64_t> made{0}, ran{0};
  std::vector<exec::TaskGroup> groups;
  groups.push_back({uint64_t{1} << 40, 1, [&](uint64_t i) {
                      ++made;
                      return exec::Task{0, 0, [&, i] {
                                          ++ran;
                                          if (i == 999) fail("stop at {}", i);
                                        }};
                    }});
  std::atomic<bool> cancel{false};
  EXPECT_TE_ERROR(exec::run_tasks(std::move(groups), 4, UINT64_MAX, cancel), "stop at 999");
  EXPECT_GE(ran.load(), 1000u);
  // Threads may make a few tasks each after the failure; never anything like the whole group.
  EXPECT_LT(made.load(), uint64_t{1} << 20);
}

TEST(WorkerPool, RunsEveryTaskOfEveryGroup) {
  std::atomic<uint64_t> sum{0};
  std::vector<exec::TaskGroup> groups;
  for (uint64_t g = 1; g <= 3; ++g) {
    groups.push_back({g * 10, g, [&, g](uint64_t i) {
                        return exec::Task{1, 0, [&, g, i] { sum += g * 1000 + i; }};
                      }});
  }
  std::atomic<bool> cancel{false};
  exec::run_tasks(std::move(groups), 3, 2, cancel);
  uint64_t expected = 0;
  for (uint64_t g = 1; g <= 3; ++g) {
    for (uint64_t i = 0; i < g * 10; ++i) expected += g * 1000 + i;
  }
  EXPECT_EQ(sum.load(), expected);
}

}  // namespace
}  // namespace te
