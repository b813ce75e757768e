#include "frameworks/profiles.h"

#include "frameworks/pax/pax_profile.h"
#include "frameworks/t5x/t5x_profile.h"

namespace te::frameworks {

const plan::FrameworkProfile& profile_for(rules::Framework framework) {
  static const PaxProfile pax;
  static const T5xProfile t5x;
  switch (framework) {
    case rules::Framework::kPax:
      return pax;
    case rules::Framework::kT5x:
      return t5x;
  }
  return pax;  // unreachable: every Framework is listed
}

}  // namespace te::frameworks
