// Typed errors: a Status keeps its code through the context callers add,
// and a rank's error becomes a failure class the coordinator journals by
// name (older ranks send the name only).
#include "common/failure.h"
#include "common/status.h"

#include <gtest/gtest.h>

namespace polysweep {
namespace {

TEST(Status, TheCodeTravelsWithTheMessage) {
  Status s = Status::DataError("shard 3: checksum mismatch").With("trial 2").With("attempt 1");
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_EQ(s.message(), "attempt 1: trial 2: shard 3: checksum mismatch");
  EXPECT_EQ(Status::Error("x").code(), StatusCode::kUnknown);
  EXPECT_EQ(Status::Ok().code(), StatusCode::kOk);
  EXPECT_EQ(Status::Ok().With("context").code(), StatusCode::kOk);
  EXPECT_EQ(Status::Error("x").As(StatusCode::kResourceExhausted).code(), StatusCode::kResourceExhausted);
  StatusOr<int> failed = Status::InvalidConfig("model.task: nope");
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidConfig);
  EXPECT_STREQ(StatusCodeName(StatusCode::kDeadlineExceeded), "deadline exceeded");
}

TEST(FailureClass, ARanksErrorIsClassedByItsCode) {
  EXPECT_EQ(FailureFromStatus(Status::InvalidConfig("x")), wire::FAILURE_BAD_CONFIG);
  EXPECT_EQ(FailureFromStatus(Status::DataError("x")), wire::FAILURE_DATA_ERROR);
  EXPECT_EQ(FailureFromStatus(Status::ResourceExhausted("x")), wire::FAILURE_OUT_OF_MEMORY);
  EXPECT_EQ(FailureFromStatus(Status::DeadlineExceeded("x")), wire::FAILURE_COLLECTIVE_TIMEOUT);
  EXPECT_EQ(FailureFromStatus(Status::Error("x")), wire::FAILURE_ERROR);
  EXPECT_TRUE(IsUserError(wire::FAILURE_BAD_CONFIG));
  EXPECT_TRUE(IsUserError(wire::FAILURE_DATA_ERROR));
  EXPECT_FALSE(IsUserError(wire::FAILURE_OUT_OF_MEMORY));
}

TEST(FailureClass, NamesRoundTripAndOlderRanksNamesAreRead) {
  for (int f = wire::FAILURE_BAD_CONFIG; f <= wire::FAILURE_ERROR; ++f) {
    const auto failure = static_cast<wire::FailureClass>(f);
    EXPECT_EQ(ParseFailureClass(FailureClassName(failure)), failure) << FailureClassName(failure);
  }
  EXPECT_EQ(ParseFailureClass("out of memory"), wire::FAILURE_OUT_OF_MEMORY);  // what ranks sent before
  EXPECT_EQ(ParseFailureClass("something new"), wire::FAILURE_ERROR);
  EXPECT_EQ(ParseFailureClass(""), wire::FAILURE_UNSPECIFIED);
  EXPECT_STREQ(FailureClassName(wire::FAILURE_UNSPECIFIED), "");
}

}  // namespace
}  // namespace polysweep
