#include <gtest/gtest.h>

#include "sip/request_check.hpp"

namespace icegate::sip {
namespace {

TEST(RequestCheck, BranchNeedsAnIdentifierAfterTheMagicCookie) {
  EXPECT_FALSE(branch_is_valid("z9hG4bK"));  // RFC 4475 §3.2.1 badbranch
  EXPECT_FALSE(branch_is_valid(""));
  EXPECT_TRUE(branch_is_valid("z9hG4bK776asdhds"));
  EXPECT_TRUE(branch_is_valid("z9hg4bk1"));
  EXPECT_TRUE(branch_is_valid("1"));  // RFC 2543 style branches are legal
}

}  // namespace
}  // namespace icegate::sip
