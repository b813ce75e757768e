// Pax leaf names in the per-array layout and in Orbax OCDBT (rules/pax_orbax_names.h).
#include "rules/pax_orbax_names.h"

#include <gtest/gtest.h>

namespace te::rules {
namespace {

TEST(PaxOrbaxNames, OptimizerStateIndicesBecomeTheirOwnComponents) {
  const std::pair<const char*, const char*> cases[] = {
      {"opt_states_0_2.m.params.lm.final_ln.scale", "opt_states.0.2.m.params.lm.final_ln.scale"},
      {"opt_states_0_0.count", "opt_states.0.0.count"},
      {"opt_states_0.no_prefix_2.v.params.lm.x", "opt_states.0.no_prefix.2.v.params.lm.x"},
      {"opt_states_0.no_prefix_0.count", "opt_states.0.no_prefix.0.count"},
      {"opt_states_0.p#8#i-1_2.m.params.lm.transformer.repeat.sub.x_layers_0.w",
       "opt_states.0.p#8#i-1.2.m.params.lm.transformer.repeat.sub.x_layers_0.w"},
      {"opt_states_1_3.count", "opt_states.1.3.count"},
  };
  for (auto [legacy, orbax] : cases) {
    EXPECT_EQ(pax_orbax_name(legacy), orbax) << legacy;
    EXPECT_EQ(pax_legacy_name(orbax), legacy) << orbax;
  }
}

TEST(PaxOrbaxNames, OtherLeavesAreSpelledAlike) {
  for (const char* name : {"step", "mdl_vars.params.lm.softmax.logits_ffn.linear.w",
                           "mdl_vars.params.lm.transformer.x_layers_0.ff_layer.ffn_layer1.linear.w",
                           "opt_states_x.m", "opt_states_0_1_2.m", "opt_states"}) {
    EXPECT_EQ(pax_orbax_name(name), name);
    EXPECT_EQ(pax_legacy_name(name), name);
  }
  EXPECT_EQ(pax_legacy_name("opt_states.x.m"), "opt_states.x.m");
}

}  // namespace
}  // namespace te::rules
