#pragma once
// Python's text forms, byte for byte, for the metadata files Orbax writes from Python:
// repr() of a str and of a tuple of str (the keys of `_METADATA`'s tree_metadata), and
// json.dumps() with its default options (ensure_ascii=True, separators ", " and ": ", keys in
// insertion order, floats as repr()). Strings are UTF-8; invalid UTF-8 is a te::Error.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace te::checkpoint {

// Code points of a UTF-8 string; throws te::Error naming `where` on invalid UTF-8 (overlong
// forms, surrogates, values above U+10FFFF, truncated sequences).
std::u32string decode_utf8(std::string_view text, std::string_view where);

// Python's str.isprintable() for one code point (table generated from CPython's unicodedata by
// scripts/gen_python_printable.py), and the Unicode version of that table.
bool python_is_printable(char32_t c);
const char* python_unicode_version();

// repr(s): single quotes unless s holds ' and no ", escapes \\, the quote, \t \n \r, other
// non-printable code points as \xNN, \uNNNN or \UNNNNNNNN; printable non-ASCII kept as UTF-8.
std::string python_str_repr(std::string_view utf8);
// repr(tuple(items)): "()", "('a',)", "('a', 'b')".
std::string python_tuple_repr(const std::vector<std::string>& items);
// repr(x) of a float as json.dumps writes it (NaN, Infinity, -Infinity for the non-finite).
std::string python_float_repr(double x);

// json.dumps(value) with Python's defaults (ensure_ascii=True). Numbers: integers as decimal,
// floats as repr(). (pax_metadata.h's python_json_dumps keeps non-ASCII as UTF-8 and uses
// nlohmann's float form; this one is byte-exact for any input.)
std::string python_json_dumps_ascii(const nlohmann::ordered_json& value);
// The JSON string literal json.dumps writes for `utf8` (ensure_ascii: \uXXXX, surrogate pairs).
std::string python_json_string(std::string_view utf8);

}  // namespace te::checkpoint
