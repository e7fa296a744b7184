// main() of the GoogleTest suites: the test environment, then every test.
#include <gtest/gtest.h>

#include "tests/common/test_env.h"

int main(int argc, char** argv) {
  polysweep::testing_util::SetTestEnvironment();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
