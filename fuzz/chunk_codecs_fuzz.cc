// libFuzzer entry point for te::fuzz::chunk_codecs (see fuzz_targets.h).
#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  te::fuzz::chunk_codecs(data, size);
  return 0;
}
