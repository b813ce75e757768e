// Planning from in-memory listings: converting a framework-side listing must give exactly the
// names and shapes of the TE-side listing of the same model (and back), with every optimizer
// group following its weights. The listings come from MAPPING.md's tables (model_listings.h),
// not from the rules the planner runs.
#include "plan/plan.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>

#include "frameworks/model_resolution.h"
#include "frameworks/profiles.h"
#include "model_listings.h"
#include "util/error.h"
#include "zarr/codec.h"
#include "zarr/dtype.h"

namespace te::plan {
namespace {

using namespace frameworks::listings;
using frameworks::detect_model;
using frameworks::Listing;
using frameworks::ModelFlags;
using frameworks::resolve_model_options;
using rules::Direction;

// A checkpoint of metadata only (no store: planning reads no chunk).
checkpoint::Checkpoint checkpoint_of(const Listing& l) {
  checkpoint::Checkpoint c;
  c.format = l.format;
  c.path = "/nonexistent/plan_test_checkpoint";
  c.array_root = c.path;
  for (const auto& a : l.arrays) {
    checkpoint::ArrayEntry e;
    e.name = a.name;
    e.metadata = zarr::ArrayMetadata::make(a.shape, a.shape, zarr::dtype_from_name(a.dtype, a.name),
                                           zarr::make_null_codec());
    c.arrays.push_back(std::move(e));
  }
  return c;
}

std::map<std::string, Shape> names_and_shapes(const Listing& l) {
  std::map<std::string, Shape> m;
  for (const auto& a : l.arrays) m[a.name] = a.shape;
  return m;
}

std::map<std::string, Shape> output_of(const Plan& p) {
  std::map<std::string, Shape> m;
  for (const auto& j : p.jobs) {
    for (const auto& o : j.outputs) m[o.name] = o.metadata.shape;
  }
  for (const auto& c : p.copies) m[c.target_name] = c.metadata().shape;
  return m;
}

Plan plan_of(const checkpoint::Checkpoint& c, const rules::ModelOptions& o) {
  return make_plan(c, o, PlanSettings{}, frameworks::profile_for(o.framework));
}

struct PaxCase {
  const char* name;
  PaxModel m;
};

class PaxPlanning : public ::testing::TestWithParam<PaxCase> {};

TEST_P(PaxPlanning, Fw2teGivesTheTeListingAndTe2fwGivesItBack) {
  PaxModel m = GetParam().m;
  PaxModel te = m;
  te.kv_packed = m.kv() != m.N;
  const Listing fw_listing = pax_listing(m, false);
  const Listing te_listing = pax_listing(te, true);

  const checkpoint::Checkpoint fw = checkpoint_of(fw_listing);
  rules::ModelOptions o = resolve_model_options(detect_model(fw_listing), "", {});
  ASSERT_EQ(o.direction, Direction::kFwToTe);
  Plan p = plan_of(fw, o);
  EXPECT_EQ(output_of(p), names_and_shapes(te_listing));
  EXPECT_TRUE(p.dropped.empty());
  EXPECT_FALSE(p.jobs.empty());

  // Back: the TE listing names its heads only joined (N*H), so --num-of-head decides.
  const checkpoint::Checkpoint tec = checkpoint_of(te_listing);
  ModelFlags f;
  f.heads = m.N;
  rules::ModelOptions back = resolve_model_options(detect_model(te_listing), "", f);
  ASSERT_EQ(back.direction, Direction::kTeToFw);
  back.mqa_drop_head_axis = m.mqa_no_head;
  PaxModel fw_again = m;
  fw_again.split = te.kv_packed;  // a packed QKV comes back combined, a kv-packed one split
  EXPECT_EQ(output_of(plan_of(tec, back)), names_and_shapes(pax_listing(fw_again, false)));
}

PaxModel pax(std::function<void(PaxModel&)> edit) {
  PaxModel m;
  edit(m);
  return m;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, PaxPlanning,
    ::testing::Values(PaxCase{"combined", pax([](PaxModel&) {})},
                      PaxCase{"repeat", pax([](PaxModel& m) { m.repeat = true, m.L = 3; })},
                      PaxCase{"gqa", pax([](PaxModel& m) { m.split = true, m.K = 2; })},
                      PaxCase{"mqa_no_head_axis", pax([](PaxModel& m) {
                                m.split = true, m.K = 1, m.mqa_no_head = true;
                              })},
                      PaxCase{"gated", pax([](PaxModel& m) { m.gated = true; })},
                      PaxCase{"skip_bias", pax([](PaxModel& m) { m.skip_bias = true; })},
                      PaxCase{"skip_ln", pax([](PaxModel& m) { m.skip_ln = true; })},
                      PaxCase{"embed_ne_heads", pax([](PaxModel& m) { m.E = 24, m.H = 8; })},
                      PaxCase{"no_optimizer", pax([](PaxModel& m) { m.opt = false; })},
                      PaxCase{"llama_like_repeat", pax([](PaxModel& m) {
                                m.repeat = true, m.split = true, m.K = 2, m.gated = true,
                                m.skip_bias = true;
                              })}),
    [](const auto& info) { return std::string(info.param.name); });

struct T5xCase {
  const char* name;
  T5xModel m;
  bool fused = false;
};

class T5xPlanning : public ::testing::TestWithParam<T5xCase> {};

TEST_P(T5xPlanning, Fw2teGivesTheTeListingAndTe2fwGivesItBack) {
  const T5xCase& c = GetParam();
  const Listing fw_listing = t5x_listing(c.m, false, false);
  const Listing te_listing = t5x_listing(c.m, true, c.fused);
  ModelFlags f;
  f.heads = c.m.N;
  rules::ModelOptions o = resolve_model_options(detect_model(fw_listing), "", f);
  ASSERT_EQ(o.direction, Direction::kFwToTe);
  o.t5x_fuse_qkv = c.fused;
  const checkpoint::Checkpoint fw = checkpoint_of(fw_listing);  // outlives the plan
  Plan p = plan_of(fw, o);
  EXPECT_EQ(output_of(p), names_and_shapes(te_listing));
  EXPECT_TRUE(p.dropped.empty());

  rules::ModelOptions back = o;
  back.direction = Direction::kTeToFw;
  const checkpoint::Checkpoint te = checkpoint_of(te_listing);
  EXPECT_EQ(output_of(plan_of(te, back)), names_and_shapes(fw_listing));
}

T5xModel t5x(std::function<void(T5xModel&)> edit) {
  T5xModel m;
  edit(m);
  return m;
}

INSTANTIATE_TEST_SUITE_P(
    Variants, T5xPlanning,
    ::testing::Values(T5xCase{"adamw", t5x([](T5xModel&) {}), false},
                      T5xCase{"adamw_fused", t5x([](T5xModel&) {}), true},
                      T5xCase{"adam_not_gated",
                              t5x([](T5xModel& m) { m.optimizer = "adam", m.gated = false; }),
                              false},
                      T5xCase{"decoder_only", t5x([](T5xModel& m) { m.encoder = false; }), true},
                      T5xCase{"encoder_only_no_optimizer",
                              t5x([](T5xModel& m) { m.decoder = false, m.optimizer = "none"; }),
                              false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Planning, TheProfileDecidesWhichCheckpointsAFrameworkAccepts) {
  const Listing l = pax_listing(PaxModel{}, false);
  rules::ModelOptions o = resolve_model_options(detect_model(l), "", {});
  checkpoint::Checkpoint c = checkpoint_of(l);
  c.format = checkpoint::Format::kT5x;
  try {
    plan_of(c, o);
    FAIL() << "a T5X container accepted as Pax";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--fw=pax needs a Pax checkpoint"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace te::plan
