// Placeholder so the test binary links before the unit tests land; asserts the binary exists.
#include <gtest/gtest.h>

#include <filesystem>

TEST(Build, BinaryExists) { EXPECT_TRUE(std::filesystem::exists(TE_CKPT_BINARY)); }
