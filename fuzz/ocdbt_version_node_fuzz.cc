// libFuzzer entry point for te::fuzz::ocdbt_version_node (see fuzz_targets.h).
#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  te::fuzz::ocdbt_version_node(data, size);
  return 0;
}
