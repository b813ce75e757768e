#include "frameworks/profiles.h"

#include "frameworks/generic_container.h"
#include "frameworks/pax/pax_container.h"
#include "frameworks/pax/pax_model.h"
#include "frameworks/pax/pax_profile.h"
#include "frameworks/t5x/t5x_container.h"
#include "frameworks/t5x/t5x_model.h"
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

const std::vector<const ModelProfile*>& all_model_profiles() {
  static const PaxModelProfile pax;
  static const T5xModelProfile t5x;
  static const std::vector<const ModelProfile*> all = {&pax, &t5x};
  return all;
}

const ModelProfile& model_profile_for(rules::Framework framework) {
  for (const ModelProfile* p : all_model_profiles()) {
    if (p->framework() == framework) return *p;
  }
  return *all_model_profiles().front();  // unreachable: every Framework has a model profile
}

const exec::ContainerProfile& container_profile_for(checkpoint::Format format) {
  static const PaxContainer pax;
  static const T5xContainer t5x;
  static const GenericContainer generic;
  switch (format) {
    case checkpoint::Format::kPaxLayout0:
    case checkpoint::Format::kPaxLayout1:
    case checkpoint::Format::kPaxOrbax:
      return pax;
    case checkpoint::Format::kT5x:
    case checkpoint::Format::kT5xOrbax:
      return t5x;
    case checkpoint::Format::kZarrArray:
    case checkpoint::Format::kOrbax:
      return generic;
  }
  return generic;  // unreachable: every Format is listed
}

}  // namespace te::frameworks
