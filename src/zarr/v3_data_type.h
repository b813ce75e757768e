#pragma once
// zarr v3 `data_type` names as TensorStore writes them (bool, int8..uint64, float16, bfloat16,
// float32, float64, complex64, complex128, the float8 names, float4_e2m1fn, int2, int4, r<N>),
// mapped onto te-ckpt's DType model, and the `fill_value` of each in TensorStore's JSON form.
//
// In memory every element is held in the DType's little-endian byte form ("<i4" for int32); the
// `bytes` codec decides the stored byte order. int2 and int4 occupy one byte per element (as in
// TensorStore's in-memory and `bytes` representation); r<N> maps to "|V<N/8>".
#include <nlohmann/json.hpp>
#include <string>

#include "util/bytes.h"
#include "zarr/dtype.h"

namespace te::zarr::v3 {

// The DType of a zarr v3 data_type name; throws te::Error naming `where` for an unknown name.
DType dtype_from_v3_name(const std::string& name, const std::string& where);

// The zarr v3 data_type name of a DType ("int32" for "<i4", "r32" for "|V4"); throws te::Error
// for types zarr v3 cannot name (numpy strings "|S4").
std::string v3_name(const DType& dtype);

// Parses a fill_value for `dtype` into the element's little-endian bytes (itemsize bytes).
// Accepted as TensorStore does: bool true/false; integers range-checked; floats a JSON number
// (rounded to nearest even), "NaN" (the canonical quiet NaN), "Infinity", "-Infinity" or a hex
// string "0x…" of the raw bits; complex [re, im]; r<N> an array of N/8 byte values.
Bytes parse_fill_value(const nlohmann::json& value, const DType& dtype, const std::string& where);

// The fill_value TensorStore writes for the element bytes `fill` (itemsize bytes): integers as
// integers, finite floats as a JSON double, ±"Infinity", "NaN" for the canonical NaN, other NaNs
// as "0x…" hex of the raw bits.
nlohmann::json fill_value_json(std::span<const std::byte> fill, const DType& dtype);

// The value of a floating-point element (float16/bfloat16/float8/float4/float32/float64 bytes,
// little-endian) as a double, and the nearest element of `dtype` to a double (round half to even;
// overflow gives infinity where the type has one, else NaN where it has one, else the largest
// finite value). Exposed for tests and for readers of FP8 metadata.
double float_element_to_double(std::span<const std::byte> element, const DType& dtype);
Bytes float_element_from_double(double value, const DType& dtype);

}  // namespace te::zarr::v3
