// libFuzzer entry point for te::fuzz::pax_metadata (see fuzz_targets.h).
#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  te::fuzz::pax_metadata(data, size);
  return 0;
}
