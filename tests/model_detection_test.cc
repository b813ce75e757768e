// Model detection and option resolution from in-memory listings (names and shapes only), for
// every variant the test generators (tests/py/paxgen.py, t5xgen.py) produce. The listings are
// built here from MAPPING.md's tables, independently of the rules.
#include "frameworks/model_detection.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frameworks/model_resolution.h"
#include "model_listings.h"
#include "util/error.h"

namespace te::frameworks {
namespace {

using namespace listings;

using checkpoint::Format;
using rules::Direction;
using rules::Framework;
using rules::QkvLayout;

// The options a listing resolves to with no model flags.
rules::ModelOptions auto_options(const Listing& l, ModelFlags flags = {}) {
  return resolve_model_options(detect_model(l), "", flags);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// ------------------------------------------------------------------------------------ Pax

struct PaxCase {
  const char* name;
  PaxModel m;
};

class PaxDetection : public ::testing::TestWithParam<PaxCase> {};

TEST_P(PaxDetection, FrameworkSideReadsEveryDimensionAndVariant) {
  const PaxModel& m = GetParam().m;
  DetectedModel d = detect_model(pax_listing(m, false));
  EXPECT_EQ(d.framework, Framework::kPax);
  EXPECT_EQ(d.side, Side::kFramework);
  EXPECT_EQ(d.pax_repeat, m.repeat);
  EXPECT_EQ(d.layers.value, m.L);
  EXPECT_EQ(d.embed.value, m.E);
  EXPECT_EQ(d.heads.value, m.N);
  EXPECT_EQ(d.head_dim.value, m.H);
  EXPECT_EQ(d.kv_heads.value, m.kv());
  EXPECT_EQ(d.mlp_dim.value, m.F);
  EXPECT_EQ(*d.split_qkv, m.split);
  EXPECT_EQ(d.mqa_no_head_axis, m.mqa_no_head);
  EXPECT_EQ(d.gated, m.gated);
  EXPECT_EQ(d.biases, !m.skip_bias);
  EXPECT_EQ(d.layer_norms, !m.skip_ln);
  EXPECT_EQ(d.optimizer_groups.size(), m.opt ? 2u : 0u);
  for (const auto& g : d.optimizer_groups) EXPECT_EQ(g.kind, OptimizerKind::kAdamMV) << g.prefix;
  EXPECT_FALSE(d.fp8_present);

  rules::ModelOptions o = auto_options(pax_listing(m, false));
  EXPECT_EQ(o.direction, Direction::kFwToTe);
  EXPECT_EQ(o.layers, m.L);
  EXPECT_EQ(o.heads, m.N);
  EXPECT_EQ(o.head_dim, m.H);
  EXPECT_EQ(o.kv_heads(), m.kv());
  EXPECT_EQ(o.embed_dim, m.E);
  EXPECT_EQ(o.mlp_dim, m.F);
  EXPECT_EQ(o.pax_repeat, m.repeat);
  EXPECT_EQ(o.pax_split_qkv, m.split);
  EXPECT_EQ(o.qkv_layout == QkvLayout::kKvPacked, m.kv() != m.N);
  EXPECT_EQ(o.gated, m.gated);
  EXPECT_EQ(o.skip_bias, m.skip_bias);
  EXPECT_EQ(o.skip_ln, m.skip_ln);
}

TEST_P(PaxDetection, TeSideReadsWhatItHoldsAndNeedsTheHeadCount) {
  PaxModel m = GetParam().m;
  m.kv_packed = m.kv() != m.N;
  if (m.mqa_no_head) m.kv_packed = true;
  DetectedModel d = detect_model(pax_listing(m, true));
  EXPECT_EQ(d.side, Side::kTe);
  EXPECT_EQ(d.pax_repeat, m.repeat);
  EXPECT_EQ(d.layers.value, m.L);
  EXPECT_EQ(d.embed.value, m.E);
  EXPECT_FALSE(d.heads.known());
  EXPECT_EQ(d.joined_heads.value, m.N * m.H);
  EXPECT_EQ(*d.qkv_layout, m.kv_packed ? QkvLayout::kKvPacked : QkvLayout::kQkvPacked);
  EXPECT_EQ(d.gated, m.gated);
  EXPECT_EQ(d.biases, !m.skip_bias);
  EXPECT_EQ(d.layer_norms, !m.skip_ln);
  // N and H are joined in D: two readings, --num-of-head decides.
  std::string why = error_of([&] { auto_options(pax_listing(m, true)); });
  EXPECT_NE(why.find("two readings"), std::string::npos) << why;
  EXPECT_NE(why.find("--num-of-head"), std::string::npos) << why;
  ModelFlags f;
  f.heads = m.N;
  rules::ModelOptions o = auto_options(pax_listing(m, true), f);
  EXPECT_EQ(o.direction, Direction::kTeToFw);
  EXPECT_EQ(o.heads, m.N);
  EXPECT_EQ(o.head_dim, m.H);
  EXPECT_EQ(o.kv_heads(), m.kv());
  EXPECT_EQ(o.pax_split_qkv, m.kv_packed);
  ModelFlags by_h;
  by_h.head_dim = m.H;
  EXPECT_EQ(auto_options(pax_listing(m, true), by_h).heads, m.N);
}

PaxModel pax(std::function<void(PaxModel&)> edit) {
  PaxModel m;
  edit(m);
  return m;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, PaxDetection,
    ::testing::Values(
        PaxCase{"combined", pax([](PaxModel&) {})},
        PaxCase{"repeat", pax([](PaxModel& m) { m.repeat = true, m.L = 3; })},
        PaxCase{"split", pax([](PaxModel& m) { m.split = true; })},
        PaxCase{"gqa", pax([](PaxModel& m) { m.split = true, m.K = 2; })},
        PaxCase{"mqa_head_axis", pax([](PaxModel& m) { m.split = true, m.K = 1; })},
        PaxCase{"mqa_no_head_axis",
                pax([](PaxModel& m) { m.split = true, m.K = 1, m.mqa_no_head = true; })},
        PaxCase{"gated", pax([](PaxModel& m) { m.gated = true; })},
        PaxCase{"skip_bias", pax([](PaxModel& m) { m.skip_bias = true; })},
        PaxCase{"skip_ln", pax([](PaxModel& m) { m.skip_ln = true; })},
        PaxCase{"skip_both", pax([](PaxModel& m) { m.skip_ln = m.skip_bias = true; })},
        PaxCase{"embed_ne_heads", pax([](PaxModel& m) { m.E = 24, m.H = 8; })},
        PaxCase{"no_optimizer", pax([](PaxModel& m) { m.opt = false; })},
        PaxCase{"llama_like_repeat", pax([](PaxModel& m) {
                  m.repeat = true, m.split = true, m.K = 2, m.gated = true, m.skip_bias = true;
                })},
        PaxCase{"one_layer", pax([](PaxModel& m) { m.L = 1; })},
        PaxCase{"one_layer_repeat", pax([](PaxModel& m) { m.L = 1, m.repeat = true; })}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PaxContradictions, EachGivenFlagIsCheckedAgainstTheListing) {
  PaxModel m;
  Listing l = pax_listing(m, false);
  auto with = [&](auto edit) {
    ModelFlags f;
    edit(f);
    return error_of([&] { auto_options(l, f); });
  };
  std::string heads = with([](ModelFlags& f) { f.heads = 8; });
  EXPECT_NE(heads.find("--num-of-head=8, but "
                       "mdl_vars.params.lm.transformer.x_layers_0.self_attention.combined_qkv.w "
                       "is [3,16,4,4]: 4 heads"),
            std::string::npos)
      << heads;
  EXPECT_NE(heads.find("[3,16,8,4]"), std::string::npos) << heads;
  EXPECT_NE(with([](ModelFlags& f) { f.embed_dim = 20; }).find("--embed-dim=20"),
            std::string::npos);
  EXPECT_NE(with([](ModelFlags& f) { f.mlp_dim = 7; }).find("--mlp-intermediate-dim=7"),
            std::string::npos);
  EXPECT_NE(with([](ModelFlags& f) { f.head_dim = 5; }).find("--head-dim=5"), std::string::npos);
  std::string layers = with([](ModelFlags& f) { f.layers = 3; });
  EXPECT_NE(layers.find("no mdl_vars.params.lm.transformer.x_layers_2.*"), std::string::npos)
      << layers;
  EXPECT_NE(with([](ModelFlags& f) {
              f.layers = 1;
            }).find("found mdl_vars.params.lm.transformer.x_layers_1.*"),
            std::string::npos);
  EXPECT_NE(with([](ModelFlags& f) {
              f.direction = Direction::kTeToFw;
            }).find("--direction=te2fw, but this checkpoint is in Pax layout, not TE"),
            std::string::npos);
  EXPECT_NE(with([](ModelFlags& f) { f.pax_repeat = true; }).find("drop --pax-repeat"),
            std::string::npos);
  EXPECT_NE(with([](ModelFlags& f) { f.pax_split_qkv = true; }).find("drop --pax-split-qkv"),
            std::string::npos);
  EXPECT_NE(with([](ModelFlags& f) { f.gated = true; }).find("--use-gated-activations"),
            std::string::npos);
  EXPECT_NE(with([](ModelFlags& f) { f.gqa_groups = 2; }).find("--num-gqa-groups=2"),
            std::string::npos);
  // Flags that agree are accepted.
  EXPECT_EQ(with([&](ModelFlags& f) { f.heads = 4, f.layers = 2, f.embed_dim = 16; }), "");

  Listing te = pax_listing(m, true);
  std::string dir = error_of([&] {
    ModelFlags f;
    f.direction = Direction::kFwToTe;
    f.heads = 4;
    auto_options(te, f);
  });
  EXPECT_NE(dir.find("--direction=fw2te, but this checkpoint is already in TE layout: found "
                     "mdl_vars.params.lm.transformer.x_layers_0.transformerlayer.cld."),
            std::string::npos)
      << dir;
  std::string joined = error_of([&] {
    ModelFlags f;
    f.heads = 3;
    auto_options(te, f);
  });
  EXPECT_NE(joined.find("--num-of-head=3, but"), std::string::npos) << joined;
  EXPECT_NE(joined.find("not a multiple of 3"), std::string::npos) << joined;

  PaxModel r = m;
  r.repeat = true, r.L = 3;
  std::string rl = error_of([&] {
    ModelFlags f;
    f.layers = 2;
    auto_options(pax_listing(r, false), f);
  });
  EXPECT_NE(rl.find("[3,3,16,4,4]: 3 layers; --num-of-layer=2 would need [2,3,16,4,4]"),
            std::string::npos)
      << rl;
}

TEST(PaxDetectionErrors, MixedOrMissingLayoutsAreRefusedNamingBoth) {
  Listing l = pax_listing(PaxModel{}, false);
  Listing te = pax_listing(PaxModel{}, true);
  for (const auto& a : te.arrays) {
    if (a.name.find("x_layers_0.transformerlayer.cld.mlp.wo_kernel") == 0 ||
        a.name == "mdl_vars.params.lm.transformer.x_layers_0.transformerlayer.cld.mlp.wo_kernel")
      l.arrays.push_back(a);
  }
  std::string why = error_of([&] { detect_model(l); });
  EXPECT_NE(why.find("two readings"), std::string::npos) << why;
  EXPECT_NE(why.find("transformerlayer.cld.mlp.wo_kernel"), std::string::npos) << why;

  Listing gap = pax_listing(PaxModel{.L = 3}, false);
  std::erase_if(gap.arrays, [](const ListedArray& a) {
    return a.name.find("x_layers_1.") != std::string::npos;
  });
  EXPECT_NE(
      error_of([&] { detect_model(gap); }).find("no mdl_vars.params.lm.transformer.x_layers_1.*"),
      std::string::npos);

  Listing both = pax_listing(PaxModel{}, false);
  Listing rep = pax_listing(PaxModel{.repeat = true}, false);
  both.arrays.push_back(rep.arrays.front());
  EXPECT_NE(error_of([&] { detect_model(both); }).find("--pax-repeat"), std::string::npos);

  Listing empty;
  empty.arrays.push_back({"step", {}, "uint32"});
  EXPECT_NE(error_of([&] { detect_model(empty); }).find("no Pax transformer layers"),
            std::string::npos);
}

TEST(PaxDetection, Fp8MetadataAndSummary) {
  Listing l = pax_listing(PaxModel{}, true);
  l.arrays.push_back(
      {"mdl_vars.fp8_metas.lm.transformer.x_layers_0.transformerlayer.cld.mlp.amax_w_0",
       {1024},
       "float32"});
  DetectedModel d = detect_model(l);
  EXPECT_TRUE(d.fp8_present);
  EXPECT_EQ(d.fp8_format, "F18");
  std::string s = d.summary();
  EXPECT_NE(s.find("Pax TE layout"), std::string::npos) << s;
  EXPECT_NE(s.find("N=? H=?"), std::string::npos) << s;
  EXPECT_NE(s.find("D=16"), std::string::npos) << s;
  EXPECT_NE(s.find("FP8 metadata F18"), std::string::npos) << s;
  EXPECT_EQ(s.find('\n'), std::string::npos);
}

// ------------------------------------------------------------------------------------ T5X

struct T5xCase {
  const char* name;
  T5xModel m;
};

class T5xDetection : public ::testing::TestWithParam<T5xCase> {};

TEST_P(T5xDetection, BothSidesAndFusedOrNot) {
  const T5xModel& m = GetParam().m;
  for (int side = 0; side < 3; ++side) {
    bool te = side > 0, fused = side == 2;
    DetectedModel d = detect_model(t5x_listing(m, te, fused));
    SCOPED_TRACE(side);
    EXPECT_EQ(d.framework, Framework::kT5x);
    EXPECT_EQ(d.side, te ? Side::kTe : Side::kFramework);
    EXPECT_EQ(d.stacks.size(), size_t(m.encoder) + size_t(m.decoder));
    for (const auto& s : d.stacks) EXPECT_EQ(s.layers, m.L) << s.name;
    EXPECT_EQ(d.embed.value, m.E);
    EXPECT_EQ(d.heads.value, m.N);
    EXPECT_EQ(d.head_dim.value, m.H);
    EXPECT_EQ(d.joined_heads.value, m.N * m.H);
    EXPECT_EQ(d.mlp_dim.value, m.F);
    EXPECT_EQ(d.gated, m.gated);
    EXPECT_EQ(d.single_wi, !m.gated);
    EXPECT_EQ(d.layer_norms, !m.skip_ln);
    if (te) {
      EXPECT_EQ(*d.t5x_fused, fused);
    } else {
      EXPECT_FALSE(d.t5x_fused.has_value());
    }
    if (m.optimizer == "adamw" || m.optimizer == "adam") {
      ASSERT_EQ(d.optimizer_groups.size(), 2u);
      for (const auto& g : d.optimizer_groups) EXPECT_EQ(g.kind, OptimizerKind::kAdamMuNu);
    } else if (m.optimizer == "adafactor") {
      ASSERT_EQ(d.optimizer_groups.size(), 4u);
      for (const auto& g : d.optimizer_groups)
        EXPECT_EQ(g.kind, OptimizerKind::kAdafactorUnfactored) << g.prefix << g.suffix;
    } else if (m.optimizer == "adafactor-factored") {
      for (const auto& g : d.optimizer_groups)
        EXPECT_EQ(g.kind, OptimizerKind::kAdafactorFactored) << g.prefix << g.suffix;
    }
    rules::ModelOptions o = auto_options(t5x_listing(m, te, fused));
    EXPECT_EQ(o.direction, te ? Direction::kTeToFw : Direction::kFwToTe);
    EXPECT_EQ(o.layers, m.L);
    EXPECT_EQ(o.embed_dim, m.E);
    EXPECT_EQ(o.heads * o.head_dim, m.N * m.H);
    EXPECT_EQ(o.mlp_dim, m.F);
    EXPECT_EQ(o.t5x_fuse_qkv, fused);
    EXPECT_EQ(o.skip_ln, m.skip_ln);
  }
}

T5xModel t5(std::function<void(T5xModel&)> edit) {
  T5xModel m;
  edit(m);
  return m;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, T5xDetection,
    ::testing::Values(
        T5xCase{"adamw", t5([](T5xModel&) {})},
        T5xCase{"adam", t5([](T5xModel& m) { m.optimizer = "adam"; })},
        T5xCase{"no_optimizer", t5([](T5xModel& m) { m.optimizer = "none"; })},
        T5xCase{"adafactor_unfactored", t5([](T5xModel& m) { m.optimizer = "adafactor"; })},
        T5xCase{"adafactor_factored", t5([](T5xModel& m) { m.optimizer = "adafactor-factored"; })},
        T5xCase{"single_wi", t5([](T5xModel& m) { m.gated = false; })},
        T5xCase{"encoder_only", t5([](T5xModel& m) { m.decoder = false; })},
        T5xCase{"decoder_only", t5([](T5xModel& m) { m.encoder = false; })},
        T5xCase{"skip_ln", t5([](T5xModel& m) { m.skip_ln = true; })},
        T5xCase{"one_layer", t5([](T5xModel& m) { m.L = 1; })}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(T5xContradictions, FusedDirectionAndDimensions) {
  T5xModel m;
  ModelFlags fuse;
  fuse.t5x_fuse_qkv = true;
  std::string why = error_of([&] { auto_options(t5x_listing(m, true, false), fuse); });
  EXPECT_NE(why.find("drop --t5x-fuse-qkv"), std::string::npos) << why;
  ModelFlags heads;
  heads.heads = 6;
  why = error_of([&] { auto_options(t5x_listing(m, false, false), heads); });
  EXPECT_NE(
      why.find("--num-of-head=6, but target.encoder.relpos_bias.rel_embedding is [4,32]: 4 heads"),
      std::string::npos)
      << why;
  ModelFlags dir;
  dir.direction = Direction::kFwToTe;
  why = error_of([&] { auto_options(t5x_listing(m, true, true), dir); });
  EXPECT_NE(why.find("already in TE layout: found target."), std::string::npos) << why;
  // Stacks of different depths cannot share one --num-of-layer.
  Listing l = t5x_listing(m, false, false);
  std::erase_if(l.arrays, [](const ListedArray& a) {
    return a.name.find("decoder.layers_1.") != std::string::npos;
  });
  why = error_of([&] { auto_options(l); });
  EXPECT_NE(why.find("one depth"), std::string::npos) << why;
}

TEST(SeedFlags, AFullDescriptionMeansWhatItAlwaysMeant) {
  PaxModel m;
  m.split = true;
  ModelFlags f;
  f.layers = 2, f.heads = 4, f.head_dim = 4, f.mlp_dim = 32;
  // --pax-split-qkv left out: false, as in the seed (the planner then names the missing array).
  rules::ModelOptions o = resolve_model_options(detect_model(pax_listing(m, false)), "", f);
  EXPECT_FALSE(o.pax_split_qkv);
  EXPECT_EQ(o.direction, Direction::kFwToTe);  // --direction left out: read from the listing
  EXPECT_EQ(o.framework, Framework::kPax);
  // Without a readable listing, --fw and --direction are needed.
  EXPECT_NE(error_of([&] { resolve_model_options(std::nullopt, "no layers", f); }).find("--fw"),
            std::string::npos);
  EXPECT_EQ(describe_as_flags(o),
            "--fw=pax --direction=fw2te --num-of-layer=2 --num-of-head=4 --head-dim=4 "
            "--mlp-intermediate-dim=32 --embed-dim=0");
}

}  // namespace
}  // namespace te::frameworks
