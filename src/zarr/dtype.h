#pragma once
// Zarr v2 data types as TensorStore writes them ("<f4", "|b1", the bare "bfloat16", float8 names),
// and the numpy names T5X and Pax use for the same types ("float32", "bfloat16").
// te-ckpt moves values as bytes: a DType only says how wide an element is, how to name it, and how
// to interpret it when a value must be read (FP8 amax, inspect).
#include <cstddef>
#include <string>

namespace te::zarr {

enum class Endian { kLittle, kBig, kNotApplicable };

struct DType {
  std::string zarr;  // the .zarray spelling, e.g. "<f4", ">i8", "|b1", "bfloat16"
  char kind = 0;     // numpy kind: b i u f c S V (bfloat16 and float8 names report 'f')
  size_t itemsize = 0;
  Endian endian = Endian::kNotApplicable;

  // The numpy / TensorStore name: "float32", "bfloat16", "int32", "float8_e4m3fn", "|S4"...
  std::string name() const;
  bool operator==(const DType& other) const { return zarr == other.zarr; }
};

// Parses a .zarray dtype string; throws te::Error naming `where` for an unknown or invalid type.
DType parse_zarr_dtype(const std::string& text, const std::string& where);

// Parses a numpy / TensorStore dtype name ("float32", "bfloat16") into the dtype TensorStore
// writes for it on a little-endian host.
DType dtype_from_name(const std::string& name, const std::string& where);

}  // namespace te::zarr
