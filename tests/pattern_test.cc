// The einops-style axis pattern parser.
#include "transform/pattern.h"

#include "test_util.h"

namespace te::transform {
namespace {

using Axes = std::vector<std::vector<std::string>>;

TEST(Pattern, ParsesValidPatterns) {
  struct Case {
    std::string text;
    Axes axes;
    std::string canonical;
  };
  const std::vector<Case> cases = {
      {"s e n h", {{"s"}, {"e"}, {"n"}, {"h"}}, "s e n h"},
      {"e s (n h)", {{"e"}, {"s"}, {"n", "h"}}, "e s (n h)"},
      {"(n h) e", {{"n", "h"}, {"e"}}, "(n h) e"},
      {"e 1 f", {{"e"}, {}, {"f"}}, "e 1 f"},
      {"l e s (g h)", {{"l"}, {"e"}, {"s"}, {"g", "h"}}, "l e s (g h)"},
      {"  a   b  ", {{"a"}, {"b"}}, "a b"},
      {"(a b c)", {{"a", "b", "c"}}, "(a b c)"},
      {"(a)", {{"a"}}, "a"},
      {"( a  b )", {{"a", "b"}}, "(a b)"},
      {"head_dim q2 x_1", {{"head_dim"}, {"q2"}, {"x_1"}}, "head_dim q2 x_1"},
      {"1", {{}}, "1"},
      {"1 1 a", {{}, {}, {"a"}}, "1 1 a"},
      {"", {}, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("\"" + c.text + "\"");
    AxisPattern p = parse_axis_pattern(c.text);
    EXPECT_EQ(p.axes, c.axes);
    EXPECT_EQ(p.rank(), static_cast<int>(c.axes.size()));
    EXPECT_EQ(p.to_string(), c.canonical);
    EXPECT_EQ(parse_axis_pattern(p.to_string()).axes, c.axes);  // to_string round-trips
  }
}

TEST(Pattern, Contains) {
  AxisPattern p = parse_axis_pattern("l e s (g h) 1");
  for (const char* name : {"l", "e", "s", "g", "h"}) EXPECT_TRUE(p.contains(name)) << name;
  for (const char* name : {"n", "1", "", "gh", "(g"}) EXPECT_FALSE(p.contains(name)) << name;
}

TEST(Pattern, RejectsInvalidPatterns) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"(a (b))", "nested"},
      {"(a b", "unbalanced"},
      {"a b)", "unbalanced"},
      {")", "unbalanced"},
      {"()", "empty"},
      {"a ( ) b", "empty"},
      {"(a 1)", "1"},
      {"a a", "twice"},
      {"(a b) a", "twice"},
      {"(a a)", "twice"},
      {"2", ""},
      {"a 0 b", ""},
      {"e 11", ""},
      {"1a", ""},
      {"A b", ""},
      {"a-b", ""},
      {"_a", ""},
      {"a, b", ""},
      {"[a] b", ""},
  };
  for (const auto& [text, why] : cases) {
    SCOPED_TRACE("\"" + text + "\"");
    EXPECT_TE_ERROR(parse_axis_pattern(text), "invalid pattern \"" + text + "\"", why);
  }
}

}  // namespace
}  // namespace te::transform
