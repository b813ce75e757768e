// The rearrange engine: compile, shapes, block planning aligned to chunk grids, and copies (whole
// and block by block) against a naive element-by-element reference computed from the patterns.
#include "transform/rearrangement.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <random>

#include "test_util.h"

namespace te::transform {
namespace {

using namespace te::testing;
using Sizes = std::map<std::string, int64_t>;

// Shape of an array with `pattern`, from axis sizes (literal 1 → 1).
Shape pattern_shape(const AxisPattern& p, const Sizes& sizes) {
  Shape s;
  for (const auto& axis : p.axes) {
    int64_t n = 1;
    for (const auto& name : axis) n *= sizes.at(name);
    s.push_back(n);
  }
  return s;
}

// Flat element offset of the V point `at` (named coordinates) in an array with `pattern`.
int64_t naive_offset(const AxisPattern& p, const Sizes& sizes,
                     const std::map<std::string, int64_t>& at) {
  Shape shape = pattern_shape(p, sizes);
  int64_t flat = 0;
  for (size_t j = 0; j < p.axes.size(); ++j) {
    int64_t idx = 0;
    for (const auto& name : p.axes[j]) idx = idx * sizes.at(name) + at.at(name);
    flat = flat * shape[j] + idx;
  }
  return flat;
}

struct Case {
  std::string label;
  std::vector<std::string> inputs, outputs;
  std::string stack;
  Sizes sizes;  // without the stack axis
};

const std::vector<Case> kCases = {
    {"transpose2", {"a b"}, {"b a"}, "", {{"a", 5}, {"b", 7}}},
    {"transpose3", {"a b c"}, {"c a b"}, "", {{"a", 3}, {"b", 4}, {"c", 5}}},
    {"identity", {"a b"}, {"a b"}, "", {{"a", 6}, {"b", 3}}},
    {"merge", {"s e n h"}, {"e s (n h)"}, "", {{"s", 3}, {"e", 4}, {"n", 2}, {"h", 5}}},
    {"unmerge", {"e s (n h)"}, {"s e n h"}, "", {{"s", 3}, {"e", 4}, {"n", 2}, {"h", 5}}},
    {"merge_first", {"e n h"}, {"(n h) e"}, "", {{"e", 6}, {"n", 4}, {"h", 3}}},
    {"stack_qkv", {"e n h", "e n h", "e n h"}, {"e s (n h)"}, "s", {{"e", 5}, {"n", 2}, {"h", 3}}},
    {"split_qkv", {"e s (n h)"}, {"e n h", "e n h", "e n h"}, "s", {{"e", 5}, {"n", 2}, {"h", 3}}},
    {"stack_gated", {"e f", "e f"}, {"e s f"}, "s", {{"e", 7}, {"f", 6}}},
    {"split_gated_transposed", {"e s f"}, {"f e", "f e"}, "s", {{"e", 7}, {"f", 6}}},
    {"literal_one", {"e f"}, {"e 1 f"}, "", {{"e", 4}, {"f", 9}}},
    {"drop_literal_one", {"e 1 f"}, {"f e"}, "", {{"e", 4}, {"f", 9}}},
    {"layers", {"l e (n h)"}, {"l (n h) e"}, "", {{"l", 3}, {"e", 4}, {"n", 2}, {"h", 3}}},
    {"layers_stack",
     {"l e n h", "l e n h"},
     {"l e s (n h)"},
     "s",
     {{"l", 2}, {"e", 3}, {"n", 2}, {"h", 2}}},
    {"size_one_axis_dropped", {"a b"}, {"a"}, "", {{"a", 5}, {"b", 1}}},
};

std::vector<AxisPattern> parse_all(const std::vector<std::string>& texts) {
  std::vector<AxisPattern> out;
  for (const auto& t : texts) out.push_back(parse_axis_pattern(t));
  return out;
}

// All named axes of a case with sizes (the stack axis sized by the member count).
Sizes full_sizes(const Case& c) {
  Sizes s = c.sizes;
  if (!c.stack.empty())
    s[c.stack] = static_cast<int64_t>(std::max(c.inputs.size(), c.outputs.size()));
  return s;
}

// Naive reference: the outputs computed element by element over V.
std::vector<Bytes> naive_outputs(const Case& c, const std::vector<Bytes>& inputs, size_t item) {
  Sizes sizes = full_sizes(c);
  auto ins = parse_all(c.inputs), outs = parse_all(c.outputs);
  std::vector<Bytes> result;
  for (const auto& p : outs)
    result.emplace_back(static_cast<size_t>(num_elements(pattern_shape(p, sizes))) * item);
  std::vector<std::string> names;
  for (const auto& [n, _] : sizes) names.push_back(n);
  Shape extent;
  for (const auto& n : names) extent.push_back(sizes.at(n));
  int64_t total = num_elements(extent);
  for (int64_t flat = 0; flat < total; ++flat) {
    std::map<std::string, int64_t> at;
    int64_t rest = flat;
    for (size_t i = names.size(); i-- > 0;) {
      at[names[i]] = rest % extent[i];
      rest /= extent[i];
    }
    size_t in_i = ins.size() > 1 ? static_cast<size_t>(at.at(c.stack)) : 0;
    size_t out_i = outs.size() > 1 ? static_cast<size_t>(at.at(c.stack)) : 0;
    int64_t src = naive_offset(ins[in_i], sizes, at), dst = naive_offset(outs[out_i], sizes, at);
    std::memcpy(result[out_i].data() + dst * static_cast<int64_t>(item),
                inputs[in_i].data() + src * static_cast<int64_t>(item), item);
  }
  return result;
}

Rearrangement compile_case(const Case& c) {
  return Rearrangement::compile(parse_all(c.inputs), parse_all(c.outputs),
                                c.stack.empty() ? "s" : c.stack, c.sizes);
}

TEST(Rearrangement, CompileShapes) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.label);
    Rearrangement r = compile_case(c);
    Sizes sizes = full_sizes(c);
    ASSERT_EQ(r.inputs.size(), c.inputs.size());
    ASSERT_EQ(r.outputs.size(), c.outputs.size());
    EXPECT_EQ(r.rank(), static_cast<int>(sizes.size()));
    for (size_t a = 0; a < r.axis_names.size(); ++a)
      EXPECT_EQ(r.axis_sizes[a], sizes.at(r.axis_names[a]));
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      EXPECT_EQ(r.shape(r.inputs[i]), pattern_shape(parse_axis_pattern(c.inputs[i]), sizes));
      EXPECT_EQ(r.inputs[i].fixed_axis >= 0, c.inputs.size() > 1);
      if (c.inputs.size() > 1) {
        EXPECT_EQ(r.inputs[i].fixed_index, static_cast<int64_t>(i));
      }
    }
    for (size_t o = 0; o < c.outputs.size(); ++o) {
      EXPECT_EQ(r.shape(r.outputs[o]), pattern_shape(parse_axis_pattern(c.outputs[o]), sizes));
      if (c.outputs.size() > 1) {
        EXPECT_EQ(r.outputs[o].fixed_index, static_cast<int64_t>(o));
      }
    }
    VBox full = r.full_box();
    EXPECT_EQ(full.size, r.axis_sizes);
    EXPECT_EQ(full.start, Shape(r.axis_sizes.size(), 0));
  }
}

TEST(Rearrangement, CopyWholeMatchesNaive) {
  for (const auto& c : kCases) {
    for (size_t item : {1, 2, 4, 8, 16}) {
      SCOPED_TRACE(c.label + " item " + std::to_string(item));
      Rearrangement r = compile_case(c);
      std::vector<Bytes> inputs;
      for (size_t i = 0; i < r.inputs.size(); ++i) {
        inputs.push_back(
            random_bytes(static_cast<size_t>(num_elements(r.shape(r.inputs[i]))) * item, 100 + i));
      }
      std::vector<Bytes> want = naive_outputs(c, inputs, item);
      VBox box = r.full_box();
      for (size_t o = 0; o < r.outputs.size(); ++o) {
        Bytes out(want[o].size(), std::byte{0xcd});
        for (size_t i = 0; i < r.inputs.size(); ++i) {
          ASSERT_TRUE(r.touches(r.inputs[i], box));
          r.copy(r.inputs[i], inputs[i].data(), r.outputs[o], out.data(), box, item);
        }
        EXPECT_TRUE(out == want[o]) << "output " << o;
      }
    }
  }
}

Bytes slice(const Bytes& data, const Shape& shape, const Shape& start, const Shape& size,
            size_t item) {
  Bytes out(static_cast<size_t>(num_elements(size)) * item);
  int64_t n = num_elements(size);
  for (int64_t e = 0; e < n; ++e) {
    int64_t rest = e, src = 0, mul = 1;
    Shape idx(size.size());
    for (size_t i = size.size(); i-- > 0;) {
      idx[i] = rest % size[i] + start[i];
      rest /= size[i];
    }
    for (size_t i = shape.size(); i-- > 0;) {
      src += idx[i] * mul;
      mul *= shape[i];
    }
    std::memcpy(out.data() + e * static_cast<int64_t>(item),
                data.data() + src * static_cast<int64_t>(item), item);
  }
  return out;
}

void paste(Bytes& data, const Shape& shape, const Shape& start, const Shape& size,
           const Bytes& part, size_t item) {
  int64_t n = num_elements(size);
  for (int64_t e = 0; e < n; ++e) {
    int64_t rest = e, dst = 0, mul = 1;
    Shape idx(size.size());
    for (size_t i = size.size(); i-- > 0;) {
      idx[i] = rest % size[i] + start[i];
      rest /= size[i];
    }
    for (size_t i = shape.size(); i-- > 0;) {
      dst += idx[i] * mul;
      mul *= shape[i];
    }
    std::memcpy(data.data() + dst * static_cast<int64_t>(item),
                part.data() + e * static_cast<int64_t>(item), item);
  }
}

TEST(Rearrangement, BlocksTileAlignAndCopyLikeNaive) {
  std::mt19937 rng(7);
  const size_t item = 4;
  for (const auto& c : kCases) {
    for (int trial = 0; trial < 12; ++trial) {
      SCOPED_TRACE(c.label + " trial " + std::to_string(trial));
      Rearrangement r = compile_case(c);
      auto random_chunks = [&](const Shape& shape) {
        Shape ch;
        for (int64_t d : shape)
          ch.push_back(trial == 0 ? d : 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(d)));
        return ch;
      };
      std::vector<Shape> in_chunks, out_chunks;
      for (const auto& v : r.inputs) in_chunks.push_back(random_chunks(r.shape(v)));
      for (const auto& v : r.outputs) out_chunks.push_back(random_chunks(r.shape(v)));
      std::vector<VBox> blocks = r.plan_blocks(in_chunks, out_chunks);
      ASSERT_FALSE(blocks.empty());

      // Blocks tile V: every point exactly once.
      std::vector<int> hits(static_cast<size_t>(num_elements(r.axis_sizes)), 0);
      for (const auto& b : blocks) {
        int64_t n = num_elements(b.size);
        for (int64_t e = 0; e < n; ++e) {
          int64_t rest = e, flat = 0;
          Shape idx(b.size.size());
          for (size_t a = b.size.size(); a-- > 0;) {
            idx[a] = rest % b.size[a] + b.start[a];
            rest /= b.size[a];
          }
          for (size_t a = 0; a < idx.size(); ++a) flat = flat * r.axis_sizes[a] + idx[a];
          ++hits[static_cast<size_t>(flat)];
        }
      }
      EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));

      // Every block's region in every array it touches is a union of whole chunks.
      auto check_aligned = [&](const ArrayView& v, const Shape& chunks, const VBox& b) {
        if (!r.touches(v, b)) return;
        Shape start, size, shape = r.shape(v);
        r.region(v, b, start, size);
        for (size_t j = 0; j < shape.size(); ++j) {
          EXPECT_EQ(start[j] % chunks[j], 0) << "axis " << j;
          int64_t end = start[j] + size[j];
          EXPECT_TRUE(end == shape[j] || end % chunks[j] == 0) << "axis " << j << " end " << end;
        }
      };
      for (const auto& b : blocks) {
        for (size_t i = 0; i < r.inputs.size(); ++i) check_aligned(r.inputs[i], in_chunks[i], b);
        for (size_t o = 0; o < r.outputs.size(); ++o) check_aligned(r.outputs[o], out_chunks[o], b);
      }

      // Block-by-block copy through region buffers equals the naive result.
      std::vector<Bytes> inputs;
      for (size_t i = 0; i < r.inputs.size(); ++i) {
        inputs.push_back(
            random_bytes(static_cast<size_t>(num_elements(r.shape(r.inputs[i]))) * item, 200 + i));
      }
      std::vector<Bytes> want = naive_outputs(c, inputs, item);
      std::vector<Bytes> got;
      for (const auto& w : want) got.emplace_back(w.size(), std::byte{0xcd});
      for (const auto& b : blocks) {
        for (size_t o = 0; o < r.outputs.size(); ++o) {
          if (!r.touches(r.outputs[o], b)) continue;
          Shape ostart, osize;
          r.region(r.outputs[o], b, ostart, osize);
          Bytes obuf(static_cast<size_t>(num_elements(osize)) * item, std::byte{0xee});
          for (size_t i = 0; i < r.inputs.size(); ++i) {
            if (!r.touches(r.inputs[i], b)) continue;
            Shape istart, isize;
            r.region(r.inputs[i], b, istart, isize);
            Bytes ibuf = slice(inputs[i], r.shape(r.inputs[i]), istart, isize, item);
            r.copy(r.inputs[i], ibuf.data(), r.outputs[o], obuf.data(), b, item);
          }
          paste(got[o], r.shape(r.outputs[o]), ostart, osize, obuf, item);
        }
      }
      for (size_t o = 0; o < want.size(); ++o) EXPECT_TRUE(got[o] == want[o]) << "output " << o;
    }
  }
}

TEST(Rearrangement, BlocksFollowChunkGrids) {
  // A [6, 8] -> [8, 6] transpose with chunks [2, 8] in and [8, 3] out: axis a is chunked by 2 in
  // the input and by 3 in the output, so a block spans lcm(2, 3) = 6 rows: the whole array.
  Case c{"t", {"a b"}, {"b a"}, "", {{"a", 6}, {"b", 8}}};
  Rearrangement r = compile_case(c);
  auto blocks = r.plan_blocks({{2, 8}}, {{8, 3}});
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].size, (Shape{6, 8}));
  // Chunks [2, 4] in and [4, 2] out: a blocks of 2, b blocks of 4 → 3 × 2 blocks in C order.
  blocks = r.plan_blocks({{2, 4}}, {{4, 2}});
  ASSERT_EQ(blocks.size(), 6u);
  EXPECT_EQ(blocks[0].start, (Shape{0, 0}));
  EXPECT_EQ(blocks[1].start, (Shape{0, 4}));
  EXPECT_EQ(blocks[2].start, (Shape{2, 0}));
  for (const auto& b : blocks) EXPECT_EQ(b.size, (Shape{2, 4}));
  // Edge blocks are cut at the array end: a = 7 with chunks of 3.
  Case c7{"t7", {"a b"}, {"a b"}, "", {{"a", 7}, {"b", 2}}};
  Rearrangement r7 = compile_case(c7);
  blocks = r7.plan_blocks({{3, 2}}, {{3, 2}});
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[2].start, (Shape{6, 0}));
  EXPECT_EQ(blocks[2].size, (Shape{1, 2}));
}

// The block grid of a huge V is counted, not listed, and each block is computed from its index
// exactly as plan_blocks() lists them.
TEST(Rearrangement, BlockGridIsLazy) {
  Case c{"t", {"a b"}, {"b a"}, "", {{"a", int64_t{1} << 40}, {"b", int64_t{1} << 20}}};
  Rearrangement r = compile_case(c);
  BlockGrid grid = r.block_grid({{1, 1}}, {{1, 1}});
  EXPECT_EQ(grid.size(), int64_t{1} << 60);
  VBox last = grid.at(grid.size() - 1);
  EXPECT_EQ(last.start, (Shape{(int64_t{1} << 40) - 1, (int64_t{1} << 20) - 1}));
  EXPECT_EQ(last.size, (Shape{1, 1}));

  Case c7{"t7", {"a b"}, {"a b"}, "", {{"a", 7}, {"b", 5}}};
  Rearrangement r7 = compile_case(c7);
  auto listed = r7.plan_blocks({{3, 2}}, {{3, 2}});
  BlockGrid grid7 = r7.block_grid({{3, 2}}, {{3, 2}});
  ASSERT_EQ(static_cast<size_t>(grid7.size()), listed.size());
  for (size_t i = 0; i < listed.size(); ++i) {
    EXPECT_EQ(grid7.at(static_cast<int64_t>(i)).start, listed[i].start);
    EXPECT_EQ(grid7.at(static_cast<int64_t>(i)).size, listed[i].size);
  }
}

TEST(Rearrangement, TouchesOnlyOwnStackSlice) {
  Case c{"split", {"e s f"}, {"e f", "e f", "e f"}, "s", {{"e", 4}, {"f", 3}}};
  Rearrangement r = compile_case(c);
  int s = -1;
  for (size_t a = 0; a < r.axis_names.size(); ++a) {
    if (r.axis_names[a] == "s") s = static_cast<int>(a);
  }
  ASSERT_GE(s, 0);
  VBox box = r.full_box();
  box.start[static_cast<size_t>(s)] = 1;
  box.size[static_cast<size_t>(s)] = 1;
  EXPECT_FALSE(r.touches(r.outputs[0], box));
  EXPECT_TRUE(r.touches(r.outputs[1], box));
  EXPECT_FALSE(r.touches(r.outputs[2], box));
  EXPECT_TRUE(r.touches(r.inputs[0], box));
}

TEST(Rearrangement, SlabAxis) {
  auto axis_of = [](const Rearrangement& r, const std::string& name) {
    for (size_t a = 0; a < r.axis_names.size(); ++a) {
      if (r.axis_names[a] == name) return static_cast<int>(a);
    }
    return -2;
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.label);
    Rearrangement r = compile_case(c);
    if (c.label == "layers" || c.label == "layers_stack") {
      EXPECT_EQ(r.slab_axis(), axis_of(r, "l"));
    } else if (c.label == "identity") {
      EXPECT_EQ(r.slab_axis(), axis_of(r, "a"));
    } else if (c.label == "transpose2" || c.label == "merge" || c.label == "merge_first" ||
               c.label == "split_gated_transposed" || c.label == "drop_literal_one") {
      EXPECT_EQ(r.slab_axis(), -1);
    }
  }
}

TEST(Rearrangement, CompileErrors) {
  auto p = [](const char* t) { return parse_axis_pattern(t); };
  EXPECT_TE_ERROR(Rearrangement::compile({p("a b"), p("a b")}, {p("a s b"), p("a s b")}, "s",
                                         {{"a", 2}, {"b", 3}}),
                  "stack and split");
  EXPECT_TE_ERROR(Rearrangement::compile({p("a b")}, {p("b a")}, "s", {{"a", 2}}), "\"b\"");
  EXPECT_TE_ERROR(Rearrangement::compile({p("s e"), p("s e")}, {p("e s")}, "s", {{"e", 2}}),
                  "stack axis");
  EXPECT_TE_ERROR(Rearrangement::compile({p("a b")}, {p("a")}, "s", {{"a", 2}, {"b", 3}}), "\"b\"");
  EXPECT_TE_ERROR(Rearrangement::compile({p("a"), p("a")}, {p("a")}, "s", {{"a", 2}}), "\"s\"");
  EXPECT_TE_ERROR(Rearrangement::compile({}, {p("a")}, "s", {{"a", 2}}), "input");
}

}  // namespace
}  // namespace te::transform
