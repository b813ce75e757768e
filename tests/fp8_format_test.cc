// FP8 metadata names (te-fp8-format.md §3.1, §4.1, §5.1, §8.1) and the §8.2/§8.3 edge cases of
// the state rules that the Python tests do not reach (NaN histories, zero scales, n = 1).
#include "rules/fp8_format.h"

#include <cmath>
#include <limits>

#include "exec/fp8_state.h"
#include "test_util.h"

namespace te {
namespace {

using rules::Fp8MetaFormat;

TEST(Fp8Format, RecognisesEachFormatByItsLeafNames) {
  struct Case {
    std::string name;
    Fp8MetaFormat format;
    std::string collection, module, leaf;
    int tensor, gemm;
  };
  const std::vector<Case> cases = {
      {"mdl_vars.fp8_meta_collection.lm.x_layers_0.transformerlayer.cld.mlp.fp8_meta_amax",
       Fp8MetaFormat::kTe17, "fp8_meta_collection", "lm.x_layers_0.transformerlayer.cld.mlp",
       "fp8_meta_amax", -1, -1},
      {"flax_mutables.fp8_metas.decoder.layers_0.mlp.amax_w_1", Fp8MetaFormat::kTe18, "fp8_metas",
       "decoder.layers_0.mlp", "amax_w_1", 1, 1},
      {"flax_mutables.fp8_metas.encoder.layers_0.attention.qkv.kernel_scale", Fp8MetaFormat::kTe23,
       "fp8_metas", "encoder.layers_0.attention.qkv", "kernel_scale", 1, 0},
      {"flax_mutables._overwrite_with_gradient.decoder.layers_3.mlp.grad_1_amax_history",
       Fp8MetaFormat::kTe23, "_overwrite_with_gradient", "decoder.layers_3.mlp",
       "grad_1_amax_history", 2, 1},
  };
  for (const auto& c : cases) {
    auto p = rules::parse_fp8_array_name(c.name);
    ASSERT_TRUE(p.has_value()) << c.name;
    EXPECT_EQ(p->format, c.format) << c.name;
    EXPECT_EQ(p->collection, c.collection) << c.name;
    EXPECT_EQ(p->module, c.module) << c.name;
    EXPECT_EQ(p->leaf, c.leaf) << c.name;
    EXPECT_EQ(p->tensor, c.tensor) << c.name;
    EXPECT_EQ(p->gemm, c.gemm) << c.name;
  }
}

TEST(Fp8Format, WeightsAndOtherLeavesAreNotFp8Metadata) {
  for (const char* name : {"mdl_vars.params.lm.x_layers_0.transformerlayer.cld.mlp.scale",
                           "mdl_vars.params.lm.final_ln.scale", "target.encoder.layers_0.mlp.scale",
                           "flax_mutables.fp8_metas.encoder.layers_0.mlp.scale",
                           "flax_mutables.fp8_metas.encoder.layers_0.mlp.amax_q_0",
                           "flax_mutables.fp8_metas.encoder.layers_0.mlp.kernel",
                           "opt_states_0.fp8_metas.x.amax_w_0", "flax_mutables.amax_w_0"}) {
    EXPECT_FALSE(rules::parse_fp8_array_name(name).has_value()) << name;
  }
}

TEST(Fp8Format, LeavesPerModule) {
  EXPECT_EQ(rules::fp8_module_leaves(Fp8MetaFormat::kTe17, 2).size(), 4u);
  auto f18 = rules::fp8_module_leaves(Fp8MetaFormat::kTe18, 2);
  ASSERT_EQ(f18.size(), 12u);
  EXPECT_EQ(f18.front(), "amax_i_0");
  EXPECT_EQ(f18.back(), "scale_g_1");
  auto one = rules::fp8_module_leaves(Fp8MetaFormat::kTe23, 1);
  EXPECT_EQ(one,
            (std::vector<std::string>{"x_amax_history", "kernel_amax_history", "grad_amax_history",
                                      "x_scale", "kernel_scale", "grad_scale"}));
  EXPECT_EQ(rules::fp8_module_leaves(Fp8MetaFormat::kTe23, 2)[4], "kernel_0_scale");
  EXPECT_EQ(rules::fp8_module_leaves(Fp8MetaFormat::kTe23, 2)[7], "kernel_1_amax_history");
}

TEST(Fp8Format, DetectionRefusesMixedFormats) {
  std::vector<std::string> names = {"flax_mutables.fp8_metas.a.amax_w_0",
                                    "flax_mutables.fp8_metas.a.kernel_scale"};
  EXPECT_THROW(rules::detect_fp8_format(names), Error);
  names.pop_back();
  auto f = rules::detect_fp8_format(names);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->format, Fp8MetaFormat::kTe18);
  EXPECT_FALSE(rules::detect_fp8_format({"target.a.kernel"}).has_value());
}

TEST(Fp8State, DerivedScaleKeepsTheOldOneForZeroNanOrInf) {
  EXPECT_EQ(exec::fp8_derived_scale({0, 0}, 3.0f, 448, 0), 3.0f);
  EXPECT_EQ(exec::fp8_derived_scale({1, std::nanf("")}, 3.0f, 448, 0), 3.0f);
  EXPECT_EQ(exec::fp8_derived_scale({std::numeric_limits<float>::infinity()}, 3.0f, 448, 0), 3.0f);
  EXPECT_EQ(exec::fp8_derived_scale({2, 4}, 3.0f, 448, 1), 56.0f);  // 448 / 4 / 2
}

TEST(Fp8State, HistoryOfLengthOne) {
  exec::Fp8Tensor t{{5.0f}, 1.0f};
  exec::fp8_f18_to_f23(t, 448, 0);
  EXPECT_EQ(t.history, std::vector<float>{0.0f});
  EXPECT_EQ(t.scale, 448.0f / 5.0f);
  exec::fp8_f23_to_f18(t, 448, 0);
  EXPECT_EQ(t.history, std::vector<float>{0.0f});  // §8.2: n = 1 gives [0], the scale is copied
  EXPECT_EQ(t.scale, 448.0f / 5.0f);
}

TEST(Fp8State, F23ToF18WithAZeroScaleLeavesTheSlotEmpty) {
  exec::Fp8Tensor t{{0, 1, 2}, 0.0f};
  exec::fp8_f23_to_f18(t, 448, 0);
  EXPECT_EQ(t.history, (std::vector<float>{2, 0, 1}));
}

}  // namespace
}  // namespace te
