// Uploads through the gRPC adapter in the formats that need more than the file's bytes: a CSV
// with its column mapping and a plain address list with its label and tags. Checks that the
// upload metadata reaches the ingest, that bad metadata is INVALID_ARGUMENT before anything is
// stored, and that the mapping, label and tags are part of the content-addressed id.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/dataset/dataset_service_harness.h"

namespace ethscan::dataset {
namespace {

using ::testing::HasSubstr;

constexpr char kWallets[] =
    "wallet,verdict,notes\n"
    "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1,drainer,reported twice\n"
    "0x6B175474E89094C44Da98b954EedeAC495271d0F,ok,\n";

constexpr char kList[] =
    "0xa153a6ef80fb5d60de18688bdc82684d48fc8de1\n"
    "0x6B175474E89094C44Da98b954EedeAC495271d0F\n";

v1::UploadMetadata MappingMetadata(const std::string& name) {
  v1::UploadMetadata metadata;
  metadata.set_name(name);
  metadata.set_filename("wallets.csv");
  metadata.set_format(v1::DATASET_FORMAT_CSV_MAPPING);
  v1::ColumnMapping* mapping = metadata.mutable_column_mapping();
  mapping->set_address_column("wallet");
  mapping->mutable_label()->set_column("verdict");
  (*mapping->mutable_label()->mutable_values())["drainer"] = "Phish / Hack";
  (*mapping->mutable_label()->mutable_values())["ok"] = "Legit";
  mapping->mutable_note()->set_column("notes");
  return metadata;
}

v1::UploadMetadata ListMetadata(const std::string& label) {
  v1::UploadMetadata metadata;
  metadata.set_name("list");
  metadata.set_filename("list.txt");
  metadata.set_label(label);
  metadata.add_tags("drainer");
  return metadata;
}

class UploadFormatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<DatasetServiceHarness>> harness = DatasetServiceHarness::Start();
    ASSERT_TRUE(harness.ok()) << harness.status();
    harness_ = *std::move(harness);
  }

  grpc::Status Upload(const v1::UploadMetadata& metadata, absl::string_view data,
                      v1::UploadDatasetResponse* response) {
    return UploadBytes(harness_->stub(), metadata, data, 16, response);
  }

  std::unique_ptr<DatasetServiceHarness> harness_;
};

TEST_F(UploadFormatsTest, AColumnMappingTravelsWithTheUploadAndIsPartOfTheId) {
  v1::UploadDatasetResponse first;
  grpc::Status status = Upload(MappingMetadata("wallets"), kWallets, &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(first.dataset().format(), v1::DATASET_FORMAT_CSV_MAPPING);
  EXPECT_EQ(first.dataset().record_count(), 2u);
  EXPECT_EQ(first.dataset().label_counts().at("Phish / Hack"), 1u);
  EXPECT_FALSE(first.already_existed());

  v1::UploadDatasetResponse again;
  ASSERT_TRUE(Upload(MappingMetadata("wallets"), kWallets, &again).ok());
  EXPECT_TRUE(again.already_existed());
  EXPECT_EQ(again.dataset().id(), first.dataset().id());

  v1::UploadMetadata other = MappingMetadata("wallets");
  (*other.mutable_column_mapping()->mutable_label()->mutable_values())["ok"] = "Unknown";
  v1::UploadDatasetResponse different;
  ASSERT_TRUE(Upload(other, kWallets, &different).ok());
  EXPECT_FALSE(different.already_existed());
  EXPECT_NE(different.dataset().id(), first.dataset().id());
  EXPECT_EQ(harness_->index().size(), 2u);
}

TEST_F(UploadFormatsTest, BadFormatMetadataIsInvalidArgumentAndStoresNothing) {
  v1::UploadMetadata mapping_with_other_format = MappingMetadata("wallets");
  mapping_with_other_format.set_format(v1::DATASET_FORMAT_MEW_DARKLIST);
  v1::UploadMetadata mapping_missing = MappingMetadata("wallets");
  mapping_missing.clear_column_mapping();
  v1::UploadMetadata label_with_other_format = ListMetadata("Scam");
  label_with_other_format.set_format(v1::DATASET_FORMAT_CRYPTOSCAMDB);
  v1::UploadMetadata list_without_label = ListMetadata("");
  list_without_label.set_format(v1::DATASET_FORMAT_ADDRESS_LIST);
  const struct {
    v1::UploadMetadata metadata;
    const char* message;
  } cases[] = {
      {mapping_with_other_format, "column_mapping is only for format csv_mapping"},
      {mapping_missing, "format csv_mapping needs UploadMetadata.column_mapping"},
      {label_with_other_format, "only for format address_list"},
      {list_without_label, "format address_list needs UploadMetadata.label"},
      {ListMetadata("Phish"), "did you mean \"Phish / Hack\"?"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    v1::UploadDatasetResponse response;
    grpc::Status status = Upload(c.metadata, kWallets, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
    // The dry run refuses the same metadata the same way.
    v1::ValidateDatasetResponse dry;
    status = ValidateBytes(harness_->stub(), c.metadata, kWallets, 16, &dry);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(harness_->index().size(), 0u);
}

TEST_F(UploadFormatsTest, AnAddressListGetsItsLabelAndTags) {
  v1::UploadDatasetResponse scam;
  grpc::Status status = Upload(ListMetadata("scam"), kList, &scam);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(scam.dataset().format(), v1::DATASET_FORMAT_ADDRESS_LIST);
  EXPECT_THAT(scam.format_detection(), HasSubstr("implied by the label"));
  EXPECT_EQ(scam.dataset().line_count(), 2u);
  EXPECT_EQ(scam.dataset().label_counts().at("Scam"), 2u);

  v1::UploadDatasetResponse heist;
  ASSERT_TRUE(Upload(ListMetadata("Heist"), kList, &heist).ok());
  EXPECT_NE(heist.dataset().id(), scam.dataset().id());
  EXPECT_EQ(harness_->index().size(), 2u);
}

TEST_F(UploadFormatsTest, ADetectedAddressListWithoutALabelIsRejectedInTheDryRunToo) {
  v1::UploadMetadata metadata;
  metadata.set_name("list");
  metadata.set_filename("list.txt");
  v1::UploadDatasetResponse response;
  grpc::Status status = Upload(metadata, kList, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("list.txt line 1: detected address_list"));
  // One chunk: the service answers a rejected dry run without reading further, and the test
  // channel (in-process) does not fail the client's later writes.
  v1::ValidateDatasetResponse dry;
  ASSERT_TRUE(ValidateBytes(harness_->stub(), metadata, kList, 1 << 20, &dry).ok());
  EXPECT_FALSE(dry.valid());
  EXPECT_THAT(dry.rejection(), HasSubstr("UploadMetadata.label"));
  EXPECT_EQ(harness_->index().size(), 0u);
}

}  // namespace
}  // namespace ethscan::dataset
