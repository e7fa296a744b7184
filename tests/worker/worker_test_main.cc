// main() for the worker tests; with --checkpoint-writer DIR the binary is the
// child process the checkpoint kill test starts and kills.
#include <gtest/gtest.h>

#include <cstring>

#include "checkpoint_writer.h"
#include "tests/common/test_env.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], polysweep::testing_util::kCheckpointWriterFlag) == 0) {
    return polysweep::testing_util::RunCheckpointWriter(argv[2]);
  }
  polysweep::testing_util::SetTestEnvironment();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
