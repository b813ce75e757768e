#pragma once
// The parsers te-ckpt exposes to untrusted bytes, one entry point each. Shared by the libFuzzer
// targets (fuzz/*_fuzz.cc) and by the regression test that replays every saved crash input
// (tests/fuzz_regression_test.cc). Each must return normally or throw te::Error; anything else
// (a crash, a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>

namespace te::fuzz {

void zarray(const uint8_t* data, size_t size);              // .zarray JSON
void msgpack_index(const uint8_t* data, size_t size);       // T5X msgpack index + its leaves
void pax_metadata(const uint8_t* data, size_t size);        // Pax metadata/metadata JSON
void chunk_codecs(const uint8_t* data, size_t size);        // first byte picks the codec
void pattern(const uint8_t* data, size_t size);             // rule axis patterns
void ocdbt_manifest(const uint8_t* data, size_t size);      // OCDBT manifest object
void ocdbt_version_node(const uint8_t* data, size_t size);  // OCDBT version-tree node object
void ocdbt_btree_node(const uint8_t* data, size_t size);    // OCDBT B+tree node object
// A whole OCDBT database in a memory store: a u16le manifest length, the manifest, then the bytes
// that every other key (every data file) holds. The OCDBT targets repair lengths and CRCs first,
// so that mutations reach the decoders behind the checksum.
void ocdbt_database(const uint8_t* data, size_t size);

}  // namespace te::fuzz
