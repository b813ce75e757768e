// Python's repr() and json.dumps() forms, checked against /usr/bin/python3 itself (the oracle):
// names with quotes, backslashes, control characters, non-ASCII printable and non-printable code
// points, astral characters; floats across the positional/exponent boundaries.
#include <cmath>
#include <limits>

#include "checkpoint/python_text.h"
#include "test_util.h"

namespace te::checkpoint {
namespace {

using namespace te::testing;

std::vector<std::string> tricky_names() {
  return {"a",
          "",
          "it's",
          "say \"hi\"",
          "both ' and \"",
          "back\\slash",
          "tab\there",
          "new\nline\r",
          std::string("nul\0byte", 8),
          "\x01\x1f\x7f",
          "caf\xc3\xa9",               // U+00E9 (printable)
          "\xc2\xa0nbsp",              // U+00A0 (not printable: \xa0)
          "\xc2\xad",                  // U+00AD soft hyphen (Cf)
          "\xe2\x80\x8b",              // U+200B zero width space (Cf)
          "\xe2\x80\xa8",              // U+2028 line separator
          "\xe6\x97\xa5\xe6\x9c\xac",  // two CJK ideographs (printable)
          "\xf0\x9f\x98\x80",          // U+1F600 (printable)
          "\xf3\xa0\x80\x81",          // U+E0001 language tag (Cf: \U000e0001)
          "\xee\x80\x80",              // U+E000 private use (Co: \ue000)
          "\xcd\xb8",                  // U+0378 unassigned (Cn: \u0378)
          "layers_0/attention.query",
          "0"};
}

std::string as_json_lines(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& s : items) text += nlohmann::json(s).dump() + "\n";
  return text;
}

TEST(PythonText, StrReprMatchesPython) {
  auto names = tricky_names();
  TempDir tmp;
  write_text(tmp / "names.jsonl", as_json_lines(names));
  std::string out = run_python(R"PY(
import json, sys
for line in open(sys.argv[1], encoding='utf-8'):
    s = json.loads(line)
    print(json.dumps(repr(s)))
)PY",
                               {(tmp / "names.jsonl").string()});
  std::istringstream lines(out);
  std::string line;
  size_t i = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(i, names.size());
    std::string expected = nlohmann::json::parse(line).get<std::string>();
    EXPECT_EQ(python_str_repr(names[i]), expected) << "name #" << i;
    ++i;
  }
  EXPECT_EQ(i, names.size());
}

TEST(PythonText, TupleReprMatchesPython) {
  std::vector<std::vector<std::string>> tuples = {
      {}, {"a"}, {"b", "c"}, {"opt_state", "0", "mu"}, {"it's", "x\"y", "caf\xc3\xa9"}};
  nlohmann::json all = tuples;
  TempDir tmp;
  write_text(tmp / "t.json", all.dump());
  std::string out = run_python(R"PY(
import json, sys
for t in json.load(open(sys.argv[1], encoding='utf-8')):
    print(json.dumps(str(tuple(t))))
)PY",
                               {(tmp / "t.json").string()});
  std::istringstream lines(out);
  std::string line;
  for (const auto& t : tuples) {
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(python_tuple_repr(t), nlohmann::json::parse(line).get<std::string>());
  }
  EXPECT_EQ(python_tuple_repr({"a"}), "('a',)");
  EXPECT_EQ(python_tuple_repr({"b", "c"}), "('b', 'c')");
}

TEST(PythonText, FloatReprMatchesPython) {
  std::vector<double> values = {0.0,
                                -0.0,
                                1.0,
                                0.1,
                                1.5,
                                -2.25,
                                1e-4,
                                1e-5,
                                1.5e-5,
                                123.456,
                                1e15,
                                1e16,
                                1.234e16,
                                1e17,
                                1e22,
                                1e300,
                                5e-324,
                                1.7976931348623157e308,
                                3.141592653589793,
                                100.0,
                                12345678901234567.0,
                                0.001,
                                2.5e-7};
  std::vector<std::string> argv;
  for (double v : values) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%a", v);
    argv.push_back(buf);
  }
  std::string out = run_python(R"PY(
import sys
for a in sys.argv[1:]:
    print(repr(float.fromhex(a)))
)PY",
                               argv);
  std::istringstream lines(out);
  std::string line;
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(python_float_repr(values[i]), line) << argv[i];
  }
  EXPECT_EQ(python_float_repr(std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(python_float_repr(-std::numeric_limits<double>::infinity()), "-Infinity");
  EXPECT_EQ(python_float_repr(std::nan("")), "NaN");
}

TEST(PythonText, JsonDumpsMatchesPython) {
  std::string doc = R"J({"tree_metadata": {"('a',)": {"key_metadata": [{"key": "a", "key_type": 2}],
     "value_metadata": {"value_type": "jax.Array", "skip_deserialize": false, "write_shape": [8]}}},
     "names": ["caf\u00e9", "\ud83d\ude00", "tab\t", "ctl\u0001\u007f", "q\"b\\", "/slash"],
     "nums": [0, -1, 18446744073709551615, -9223372036854775808, 1.0, 0.5, 1e-07, 1e+16, 1e15],
     "empty": {}, "list": [], "null": null, "t": true, "f": false, "z": {"b": 1, "a": 2}})J";
  TempDir tmp;
  write_text(tmp / "doc.json", doc);
  std::string expected = run_python(R"PY(
import json, sys
sys.stdout.write(json.dumps(json.load(open(sys.argv[1], encoding='utf-8'))))
)PY",
                                    {(tmp / "doc.json").string()});
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(python_json_dumps_ascii(nlohmann::ordered_json::parse(doc)), expected);
}

TEST(PythonText, InvalidUtf8IsAnError) {
  EXPECT_TE_ERROR(python_str_repr("\xff"), "invalid UTF-8");
  EXPECT_TE_ERROR(python_str_repr("\xc0\x80"), "invalid UTF-8");             // overlong
  EXPECT_TE_ERROR(python_str_repr("\xed\xa0\x80"), "invalid UTF-8");         // surrogate
  EXPECT_TE_ERROR(python_str_repr("\xe6\x97"), "invalid UTF-8");             // truncated
  EXPECT_TE_ERROR(python_json_string("\xf4\x90\x80\x80"), "invalid UTF-8");  // > U+10FFFF
}

TEST(PythonText, PrintableTableSpotChecks) {
  EXPECT_TRUE(python_is_printable(U'a'));
  EXPECT_TRUE(python_is_printable(U' '));
  EXPECT_FALSE(python_is_printable(0x85));
  EXPECT_FALSE(python_is_printable(0xA0));
  EXPECT_TRUE(python_is_printable(0xE9));
  EXPECT_FALSE(python_is_printable(0x10FFFF));
  EXPECT_TRUE(python_is_printable(0x1F600));
  EXPECT_STREQ(python_unicode_version(), "14.0.0");
}

}  // namespace
}  // namespace te::checkpoint
