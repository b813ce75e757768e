#include "frameworks/generic_container.h"

#include <fmt/core.h>

namespace te::frameworks {

exec::FrameworkContainer GenericContainer::folders_container(const checkpoint::Checkpoint&) const {
  return {std::nullopt, "",
          "a generic Orbax checkpoint has no framework index to write per-array folders with "
          "(zarr output is a T5X checkpoint_<N>/ or a Pax checkpoint_%08d/ step)"};
}

exec::FrameworkContainer GenericContainer::orbax_container(const checkpoint::Checkpoint&) const {
  return {std::nullopt, "", "a single zarr array is not a checkpoint"};
}

std::string GenericContainer::describe_own_container(const exec::OutputContainer&,
                                                     const std::string&,
                                                     const std::string& output) const {
  return fmt::format("zarr v2 array {}", output);
}

}  // namespace te::frameworks
