// Loads the SDP captures and golden files of tests/data/sdp (tests only).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "sip/sdp/description.hpp"

namespace icegate::sip::sdp::test {

inline Description load(const std::string& name) {
  std::ifstream in(std::string(ICEGATE_SOURCE_DIR) + "/tests/data/sdp/" + name, std::ios::binary);
  auto d = parse(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  EXPECT_TRUE(d) << name;
  return d ? *d : Description{};
}

}  // namespace icegate::sip::sdp::test
