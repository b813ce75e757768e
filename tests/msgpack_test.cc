// msgpack decode/encode: every format family, and smallest-form encoding byte-identical to
// msgpack-python's packb(..., use_bin_type=True) (the bytes come from /usr/bin/python3).
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "msgpack/value.h"
#include "test_util.h"

namespace te::msgpack {
namespace {

using namespace te::testing;

Bytes pattern_bytes(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>(i % 251);
  return b;
}

struct Case {
  std::string label;
  Value value;
  std::string python;         // the same value as a Python expression
  bool decodes_equal = true;  // decode(python bytes) == value (false where int64 vs uint64 differ)
};

std::vector<Case> cases() {
  std::vector<Case> c = {
      {"nil", Nil{}, "None"},
      {"true", true, "True"},
      {"false", false, "False"},
  };
  for (uint64_t u :
       {0ull, 1ull, 127ull, 128ull, 255ull, 256ull, 65535ull, 65536ull, 4294967295ull,
        4294967296ull, 9223372036854775807ull, 9223372036854775808ull, 18446744073709551615ull}) {
    c.push_back({"uint " + std::to_string(u), u, std::to_string(u)});
  }
  for (int64_t i : {int64_t{-1}, int64_t{-32}, int64_t{-33}, int64_t{-128}, int64_t{-129},
                    int64_t{-32768}, int64_t{-32769}, int64_t{-2147483648LL},
                    int64_t{-2147483649LL}, std::numeric_limits<int64_t>::min()}) {
    c.push_back({"int " + std::to_string(i), i, "(" + std::to_string(i) + ")"});
  }
  // Non-negative values held as int64 encode like Python ints too.
  for (int64_t i : {int64_t{0}, int64_t{5}, int64_t{200}, int64_t{70000}, int64_t{5000000000LL}}) {
    c.push_back({"int64 " + std::to_string(i), i, std::to_string(i), false});
  }
  c.push_back({"float 1.5", 1.5, "1.5"});
  c.push_back({"float -0.0", -0.0, "-0.0"});
  c.push_back({"float 0.1", 0.1, "0.1"});
  c.push_back({"float 1e300", 1e300, "1e300"});
  for (double d : {0.0, 1.0, 2.0, -3.0, 65536.0, 1e15, -1e18}) {
    std::ostringstream py;
    py.precision(17);
    py << "float(" << d << ")";
    c.push_back({"float " + py.str(), d, py.str()});
  }
  c.push_back({"float inf", std::numeric_limits<double>::infinity(), "float('inf')"});
  c.push_back({"float -inf", -std::numeric_limits<double>::infinity(), "float('-inf')"});
  for (size_t n : {0, 1, 31, 32, 255, 256, 65535, 65536, 70000}) {
    c.push_back({"str " + std::to_string(n), std::string(n, 'x'), "'x' * " + std::to_string(n)});
  }
  c.push_back({"str utf8", std::string("h\xc3\xa9llo \xe2\x9c\x93"), "'h\\u00e9llo \\u2713'"});
  for (size_t n : {0, 1, 255, 256, 65535, 65536}) {
    c.push_back({"bin " + std::to_string(n), Binary{pattern_bytes(n)},
                 "bytes(i % 251 for i in range(" + std::to_string(n) + "))"});
  }
  for (size_t n : {0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 255, 256, 65535, 65536}) {
    for (int type : {1, 3, 127}) {
      c.push_back({"ext" + std::to_string(type) + " " + std::to_string(n),
                   Extension{static_cast<int8_t>(type), pattern_bytes(n)},
                   "msgpack.ExtType(" + std::to_string(type) + ", bytes(i % 251 for i in range(" +
                       std::to_string(n) + ")))"});
    }
  }
  for (size_t n : {0, 1, 15, 16, 65535, 65536}) {
    Array a;
    for (size_t i = 0; i < n; ++i) a.emplace_back(static_cast<uint64_t>(i % 300));
    c.push_back(
        {"array " + std::to_string(n), a, "[i % 300 for i in range(" + std::to_string(n) + ")]"});
  }
  for (size_t n : {0, 1, 15, 16, 65535, 65536}) {
    Map m;
    for (size_t i = 0; i < n; ++i) {
      char key[16];
      std::snprintf(key, sizeof key, "k%05zu", (n - i) * 7 % 100003);  // not sorted: order is kept
      m.emplace_back(key, i % 2 ? Value(Nil{}) : Value(static_cast<uint64_t>(i)));
    }
    c.push_back({"map " + std::to_string(n), m,
                 "{('k%05d' % ((" + std::to_string(n) +
                     " - i) * 7 % 100003)): (None if i % 2 else i) for i in range(" +
                     std::to_string(n) + ")}"});
  }
  Map nested{
      {"version", uint64_t{3}},
      {"optimizer", Map{{"target", Map{}},
                        {"state", Map{{"step", Extension{3, pattern_bytes(14)}},
                                      {"list", Array{Value(int64_t{-5}), Value(std::string("s")),
                                                     Value(Binary{pattern_bytes(3)}),
                                                     Value(Array{}), Value(Map{{"z", true}})}},
                                      {"f", 2.25}}}}}};
  c.push_back({"nested", nested,
               "{'version': 3, 'optimizer': {'target': {}, 'state': {'step': msgpack.ExtType(3, "
               "bytes(i % 251 for i "
               "in range(14))), 'list': [-5, 's', bytes(i % 251 for i in range(3)), [], {'z': "
               "True}], 'f': 2.25}}}"});
  return c;
}

// Runs msgpack-python on every case; returns the hex encodings, one per case.
std::vector<std::string> python_encodings(const std::vector<Case>& all) {
  std::string program = "import msgpack\ncases = [\n";
  for (const auto& c : all) program += "  " + c.python + ",\n";
  program += "]\nfor v in cases:\n    print(msgpack.packb(v, use_bin_type=True).hex())\n";
  std::istringstream out(run_python(program));
  std::vector<std::string> lines;
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  return lines;
}

TEST(Msgpack, EncodesLikeMsgpackPython) {
  auto all = cases();
  auto expected = python_encodings(all);
  ASSERT_EQ(expected.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    SCOPED_TRACE(all[i].label);
    std::string got = hex(encode(all[i].value));
    EXPECT_EQ(got.size(), expected[i].size());
    EXPECT_TRUE(got == expected[i]) << got.substr(0, 80) << " vs " << expected[i].substr(0, 80);
  }
}

TEST(Msgpack, DecodesEveryFamilyFromMsgpackPython) {
  auto all = cases();
  auto expected = python_encodings(all);
  ASSERT_EQ(expected.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    SCOPED_TRACE(all[i].label);
    Bytes bytes = unhex(expected[i]);
    Value v = decode(bytes, "case");
    if (all[i].decodes_equal) {
      EXPECT_TRUE(v == all[i].value);
    }
    EXPECT_TRUE(encode(v) == bytes);  // decode + re-encode is the identity on smallest forms
  }
}

TEST(Msgpack, DecodedTypes) {
  EXPECT_TRUE(std::holds_alternative<uint64_t>(decode(unhex("05"), "t").v));
  EXPECT_EQ(std::get<uint64_t>(decode(unhex("cf8000000000000000"), "t").v), 9223372036854775808ull);
  EXPECT_EQ(std::get<int64_t>(decode(unhex("e0"), "t").v), -32);
  EXPECT_EQ(std::get<int64_t>(decode(unhex("d38000000000000000"), "t").v),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(std::get<double>(decode(unhex("cb3ff8000000000000"), "t").v), 1.5);
  EXPECT_EQ(std::get<double>(decode(unhex("ca3fc00000"), "t").v), 1.5);
  EXPECT_EQ(std::get<std::string>(decode(unhex("a3616263"), "t").v), "abc");
  EXPECT_EQ(std::get<Binary>(decode(unhex("c403010203"), "t").v).data, bytes_of({1, 2, 3}));
  Extension e = std::get<Extension>(decode(unhex("d40105"), "t").v);
  EXPECT_EQ(e.type, 1);
  EXPECT_EQ(e.data, bytes_of({5}));
  Extension neg = std::get<Extension>(decode(unhex("d5ff0102"), "t").v);
  EXPECT_EQ(neg.type, -1);
  EXPECT_EQ(hex(encode(neg)), "d5ff0102");
  EXPECT_TRUE(std::holds_alternative<Nil>(decode(unhex("c0"), "t").v));
  EXPECT_EQ(std::get<bool>(decode(unhex("c3"), "t").v), true);
  EXPECT_EQ(std::get<bool>(decode(unhex("c2"), "t").v), false);
}

TEST(Msgpack, NonSmallestFormsReencodeLikeMsgpackPython) {
  const std::vector<std::string> inputs = {
      "cc05",
      "cd0005",
      "ce00000005",
      "cf0000000000000005",
      "cd00ff",
      "d0ff",
      "d1ffff",
      "d2ffffffff",
      "d3ffffffffffffffff",
      "d07f",
      "d30000000000000005",
      "d1ff00",
      "ca3fc00000",
      "ca7fc00000",
      "d903616263",
      "da0003616263",
      "db00000003616263",
      "d900",
      "c403010203",
      "c5000301020a",
      "c600000003010203",
      "c70105aa",
      "c8000105aa",
      "c90000000105aa",
      "c7000a",
      "c70401aabbccdd",
      "c80010"
      "01"
      "00112233445566778899aabbccddeeff",
      "dc0001c0",
      "dd00000001c0",
      "de0001a161c0",
      "df00000001a161c0",
      "de0002a17acd0001a161dc0002c3c2",
  };
  std::string program =
      "import msgpack, sys\nfor h in sys.argv[1:]:\n"
      "    v = msgpack.unpackb(bytes.fromhex(h), raw=False, strict_map_key=False)\n"
      "    print(msgpack.packb(v, use_bin_type=True).hex())\n";
  std::istringstream out(run_python(program, inputs));
  for (const auto& in : inputs) {
    std::string expected;
    std::getline(out, expected);
    SCOPED_TRACE(in);
    EXPECT_EQ(hex(encode(decode(unhex(in), "t"))), expected);
  }
}

TEST(Msgpack, ErrorsNameTheSource) {
  const std::string where = "/ck/checkpoint_1/checkpoint";
  const std::vector<std::string> bad = {
      "",         // nothing
      "92 01",    // array of 2 with one element
      "a561",     // str of 5 with one byte
      "c40501",   // bin of 5 with one byte
      "cd00",     // uint16 cut
      "d501",     // fixext2 without data
      "c1",       // never-used byte
      "8101 02",  // map key is not a string
      "0102",     // trailing bytes
      "c0c0",     // trailing bytes
  };
  for (std::string h : bad) {
    h.erase(std::remove(h.begin(), h.end(), ' '), h.end());
    SCOPED_TRACE(h);
    EXPECT_TE_ERROR(decode(unhex(h), where), where);
  }
  EXPECT_TE_ERROR(decode(unhex("0102"), where), where, "1");
  std::string deep(200 * 2, '9');
  for (size_t i = 1; i < deep.size(); i += 2) deep[i] = '1';
  deep += "c0";
  EXPECT_TE_ERROR(decode(unhex(deep), where), where);
}

TEST(Msgpack, FindInMaps) {
  Value v = Map{{"a", uint64_t{1}}, {"b", Map{{"c", std::string("x")}}}};
  ASSERT_NE(v.find("a"), nullptr);
  EXPECT_EQ(std::get<uint64_t>(v.find("a")->v), 1u);
  ASSERT_NE(v.find("b"), nullptr);
  ASSERT_NE(v.find("b")->find("c"), nullptr);
  EXPECT_EQ(v.find("z"), nullptr);
  EXPECT_EQ(Value(uint64_t{3}).find("a"), nullptr);
  v.find("a")->v = std::string("changed");
  EXPECT_EQ(hex(encode(v)), "82a161a76368616e676564a16281a163a178");
}

}  // namespace
}  // namespace te::msgpack
