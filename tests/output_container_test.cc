// --output-format: which container each input format gets (the format written, where the arrays
// go, OCDBT or folders, Orbax metadata from scratch, Orbax-only files dropped), and the refusals
// that name the flag, the input's format and why.
#include "exec/output_container.h"

#include <gtest/gtest.h>

#include "frameworks/profiles.h"
#include "util/error.h"

namespace te::exec {
namespace {

using checkpoint::Format;

checkpoint::Checkpoint input(Format format, const std::string& item = "state") {
  checkpoint::Checkpoint c;
  c.format = format;
  c.path = "/in/checkpoint_1";
  if (checkpoint::is_orbax_format(format)) c.orbax_item = item;
  if (format == Format::kPaxLayout1 || format == Format::kPaxOrbax) {
    c.pax_metadata = nlohmann::json::parse(R"({"version": 1.1, "train_state_metadata": {}})");
  }
  return c;
}

// The container chosen with the profile the command line gives the input.
OutputContainer choose_output_container(const checkpoint::Checkpoint& c, OutputFormat f) {
  return exec::choose_output_container(c, f, frameworks::container_profile_for(c.format));
}

std::string refusal(const checkpoint::Checkpoint& c, OutputFormat f) {
  try {
    choose_output_container(c, f);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(OutputContainer, ParsesTheFlag) {
  EXPECT_EQ(parse_output_format("keep"), OutputFormat::kKeep);
  EXPECT_EQ(parse_output_format("ocdbt-zarr3"), OutputFormat::kOcdbtZarr3);
  EXPECT_EQ(parse_output_format("OCDBT"), std::nullopt);
  EXPECT_STREQ(output_format_flag(OutputFormat::kZarr), "zarr");
}

TEST(OutputContainer, KeepIsTheInputsOwn) {
  auto t5x = choose_output_container(input(Format::kT5x), OutputFormat::kKeep);
  EXPECT_EQ(t5x.format, Format::kT5x);
  EXPECT_EQ(t5x.array_root, "");
  EXPECT_FALSE(t5x.ocdbt);
  auto pax = choose_output_container(input(Format::kPaxLayout1), OutputFormat::kZarr);
  EXPECT_EQ(pax.format, Format::kPaxLayout1);
  EXPECT_EQ(pax.array_root, "state");
  auto orbax = choose_output_container(input(Format::kOrbax, "params"), OutputFormat::kOcdbt);
  EXPECT_EQ(orbax.format, Format::kOrbax);
  EXPECT_EQ(orbax.array_root, "params");
  EXPECT_TRUE(orbax.ocdbt);
  EXPECT_FALSE(orbax.orbax_from_scratch);
}

TEST(OutputContainer, LegacyToOcdbtWritesOrbaxFromScratch) {
  for (auto [in, out] : {std::pair{Format::kT5x, Format::kT5xOrbax},
                         std::pair{Format::kPaxLayout1, Format::kPaxOrbax}}) {
    auto c = choose_output_container(input(in), OutputFormat::kOcdbt);
    EXPECT_EQ(c.format, out);
    EXPECT_EQ(c.array_root, "state");
    EXPECT_TRUE(c.ocdbt && c.orbax_from_scratch && !c.drop_orbax_files);
    EXPECT_TRUE(keeps_file(c, "commit_success.txt"));
  }
}

TEST(OutputContainer, OrbaxToZarrWritesTheFrameworksIndex) {
  auto t5x = choose_output_container(input(Format::kT5xOrbax), OutputFormat::kZarr);
  EXPECT_EQ(t5x.format, Format::kT5x);
  EXPECT_EQ(t5x.array_root, "");
  EXPECT_FALSE(t5x.ocdbt);
  EXPECT_FALSE(keeps_file(t5x, "commit_success.txt"));
  EXPECT_FALSE(keeps_file(t5x, "orbax.checkpoint"));
  EXPECT_TRUE(keeps_file(t5x, "dataset"));
  auto pax = choose_output_container(input(Format::kPaxOrbax), OutputFormat::kZarr);
  EXPECT_EQ(pax.format, Format::kPaxLayout1);
  EXPECT_EQ(pax.array_root, "state");
  EXPECT_NE(pax.describe("/out").find("/out/metadata/metadata"), std::string::npos);
}

TEST(OutputContainer, Zarr3IsTheOcdbtLayoutWithZarr3Arrays) {
  auto t5x = choose_output_container(input(Format::kT5x), OutputFormat::kOcdbtZarr3);
  EXPECT_EQ(t5x.format, Format::kT5xOrbax);
  EXPECT_TRUE(t5x.ocdbt);
  EXPECT_TRUE(t5x.zarr3);
  EXPECT_TRUE(t5x.orbax_from_scratch);
  EXPECT_NE(t5x.describe("/out").find("zarr3"), std::string::npos);
  auto orbax = choose_output_container(input(Format::kPaxOrbax), OutputFormat::kOcdbtZarr3);
  EXPECT_TRUE(orbax.zarr3);
  EXPECT_FALSE(orbax.orbax_from_scratch);
  EXPECT_FALSE(choose_output_container(input(Format::kPaxOrbax), OutputFormat::kOcdbt).zarr3);
  EXPECT_FALSE(choose_output_container(input(Format::kPaxOrbax), OutputFormat::kZarr).zarr3);
}

TEST(OutputContainer, RefusalsNameTheFlagAndWhy) {
  EXPECT_NE(refusal(input(Format::kOrbax), OutputFormat::kZarr)
                .find("--output-format=zarr: a generic Orbax checkpoint has no framework index"),
            std::string::npos);
  EXPECT_NE(refusal(input(Format::kPaxLayout0), OutputFormat::kOcdbt)
                .find("a Pax layout 0.0 folder has no metadata/metadata"),
            std::string::npos);
  auto v10 = input(Format::kPaxLayout1);
  v10.pax_metadata = nlohmann::json::parse(R"({"version": 1.0})");
  EXPECT_NE(refusal(v10, OutputFormat::kOcdbt).find("this version 1.0 step has none"),
            std::string::npos);
  EXPECT_NE(refusal(input(Format::kPaxLayout0), OutputFormat::kOcdbt).find("/in/checkpoint_1"),
            std::string::npos);
}

}  // namespace
}  // namespace te::exec
