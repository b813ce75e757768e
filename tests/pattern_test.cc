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
      {"(g? h)", "optional axis inside a group"},
      {"(g h)?", ""},
      {"1?", ""},
      {"? e", ""},
      {"e g??", ""},
  };
  for (const auto& [text, why] : cases) {
    SCOPED_TRACE("\"" + text + "\"");
    EXPECT_TE_ERROR(parse_axis_pattern(text), "invalid pattern \"" + text + "\"", why);
  }
}

TEST(Pattern, OptionalAxesResolveStoredOrLeftOut) {
  AxisPattern p = parse_axis_pattern("e g? h");
  EXPECT_EQ(p.rank(), 3);
  EXPECT_TRUE(p.has_optional_axes());
  EXPECT_TRUE(p.contains("g"));
  EXPECT_EQ(p.to_string(), "e g? h");
  EXPECT_EQ(p.resolved(true).to_string(), "e g h");
  EXPECT_FALSE(p.resolved(true).has_optional_axes());
  EXPECT_EQ(p.resolved(false).to_string(), "e h");
  EXPECT_EQ(p.resolved(false).axes, (Axes{{"e"}, {"h"}}));
  // Without optional axes both resolutions are the pattern itself.
  AxisPattern plain = parse_axis_pattern("e s (g h)");
  EXPECT_FALSE(plain.has_optional_axes());
  EXPECT_EQ(plain.resolved(false).to_string(), "e s (g h)");
  EXPECT_EQ(parse_axis_pattern("g?").resolved(false).rank(), 0);
}

TEST(Pattern, LeadingAxisStacksThePattern) {
  EXPECT_EQ(parse_axis_pattern("e f").with_leading_axis("l").to_string(), "l e f");
  AxisPattern p = parse_axis_pattern("e g? h").with_leading_axis("l");
  EXPECT_EQ(p.to_string(), "l e g? h");
  EXPECT_EQ(p.resolved(false).to_string(), "l e h");
  EXPECT_EQ(parse_axis_pattern("").with_leading_axis("l").to_string(), "l");
  EXPECT_TE_ERROR(parse_axis_pattern("l e").with_leading_axis("l"), "already has an axis l");
  EXPECT_TE_ERROR(parse_axis_pattern("(n l)").with_leading_axis("l"), "already has an axis l");
}

}  // namespace
}  // namespace te::transform
