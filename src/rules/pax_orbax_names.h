#pragma once
// The names of a Pax TrainState's leaves in the two containers (orbax-format.md §1.3, from the
// code: paxml b397693f checkpoints.py, orbax 3ff7b24a _src/tree/utils.py, praxis feeaff19).
// Without OCDBT Pax names each leaf itself (_tensorstore_prepare): a list index joins the key
// before it with '_', so the optimizer state reads `opt_states_0_2.m.params.…` or, under
// optimizer prefix vectorization, `opt_states_0.no_prefix_2.m.…` / `opt_states_0.p#8#i-1_2.…`.
// With OCDBT Orbax names it from the key path ('.'.join of the keys): the same leaves are
// `opt_states.0.2.m.params.…` and `opt_states.0.no_prefix.2.m.…`. Every other leaf (step,
// mdl_vars.…) is spelled alike in both.
#include <string>
#include <string_view>

namespace te::rules {

// `opt_states_0_2.m.x` -> `opt_states.0.2.m.x`, `opt_states_0.no_prefix_2.m.x` ->
// `opt_states.0.no_prefix.2.m.x`; other names unchanged.
std::string pax_orbax_name(std::string_view legacy);

// The inverse: `opt_states.0.2.m.x` -> `opt_states_0_2.m.x`, `opt_states.0.no_prefix.2.m.x` ->
// `opt_states_0.no_prefix_2.m.x`; other names unchanged. pax_legacy_name(pax_orbax_name(n)) == n.
std::string pax_legacy_name(std::string_view orbax);

}  // namespace te::rules
