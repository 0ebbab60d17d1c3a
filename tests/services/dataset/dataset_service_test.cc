#include "services/dataset/dataset_service.h"

#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/eth/hash.h"
#include "common/grpc/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/dataset/dataset_service_harness.h"

namespace ethscan::dataset {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kUniswap[] =
    "address,name,symbol,decimals,chainId\n"
    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2,Wrapped Ether,WETH,18,1\n"
    "0x6B175474E89094C44Da98b954EedeAC495271d0F,Dai Stablecoin,DAI,18,1\n"
    "0xE41d2489571d322189246DaFA5ebDe1F4699F498,0x Protocol Token,ZRX,18,1\n";

v1::UploadMetadata Metadata(const std::string& name) {
  v1::UploadMetadata metadata;
  metadata.set_name(name);
  metadata.set_filename("tokens.csv");
  return metadata;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  return names;
}

class DatasetServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<DatasetServiceHarness>> harness = DatasetServiceHarness::Start();
    ASSERT_TRUE(harness.ok()) << harness.status();
    harness_ = *std::move(harness);
  }

  std::string Upload(const std::string& name) {
    v1::UploadDatasetResponse response;
    grpc::Status status = UploadBytes(harness_->stub(), Metadata(name), kUniswap, 10, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.dataset().id();
  }

  std::unique_ptr<DatasetServiceHarness> harness_;
};

TEST_F(DatasetServiceTest, UploadThenGetListStatsAndReadRecords) {
  v1::UploadDatasetResponse uploaded;
  grpc::Status status = UploadBytes(harness_->stub(), Metadata("tokens"), kUniswap, 7, &uploaded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string id = uploaded.dataset().id();
  EXPECT_EQ(uploaded.dataset().record_count(), 3u);
  EXPECT_THAT(uploaded.format_detection(), HasSubstr("detected uniswap_tokens"));

  grpc::ClientContext get_context;
  common::SetDeadline(&get_context, absl::Seconds(5));
  v1::GetDatasetRequest get;
  get.set_id(id);
  v1::GetDatasetResponse got;
  ASSERT_TRUE(harness_->stub().GetDataset(&get_context, get, &got).ok());
  EXPECT_EQ(got.dataset().name(), "tokens");

  grpc::ClientContext list_context;
  common::SetDeadline(&list_context, absl::Seconds(5));
  v1::ListDatasetsResponse listed;
  ASSERT_TRUE(harness_->stub().ListDatasets(&list_context, {}, &listed).ok());
  ASSERT_EQ(listed.datasets_size(), 1);
  EXPECT_EQ(listed.datasets(0).id(), id);

  grpc::ClientContext stats_context;
  common::SetDeadline(&stats_context, absl::Seconds(5));
  v1::GetDatasetStatsRequest stats_request;
  stats_request.set_id(id);
  v1::GetDatasetStatsResponse stats;
  ASSERT_TRUE(harness_->stub().GetDatasetStats(&stats_context, stats_request, &stats).ok());
  EXPECT_EQ(stats.record_count(), 3u);
  EXPECT_EQ(stats.account_type_counts().at("Smart Contract"), 3u);

  grpc::ClientContext read_context;
  common::SetDeadline(&read_context, absl::Seconds(5));
  v1::ReadRecordsRequest read;
  read.set_id(id);
  read.set_batch_size(2);
  auto reader = harness_->stub().ReadRecords(&read_context, read);
  std::vector<std::string> names;
  int batches = 0;
  v1::ReadRecordsResponse batch;
  while (reader->Read(&batch)) {
    ++batches;
    for (const auto& record : batch.records()) names.push_back(record.name());
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(batches, 2);
  EXPECT_THAT(names, ::testing::ElementsAre("Wrapped Ether (WETH)", "Dai Stablecoin (DAI)",
                                            "0x Protocol Token (ZRX)"));
}

TEST_F(DatasetServiceTest, ReuploadReturnsTheExistingDataset) {
  const std::string id = Upload("tokens");
  v1::UploadDatasetResponse again;
  ASSERT_TRUE(UploadBytes(harness_->stub(), Metadata("tokens"), kUniswap, 1000, &again).ok());
  EXPECT_TRUE(again.already_existed());
  EXPECT_EQ(again.dataset().id(), id);
}

TEST_F(DatasetServiceTest, StreamMustStartWithMetadata) {
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(5));
  v1::UploadDatasetResponse response;
  auto writer = harness_->stub().UploadDataset(&context, &response);
  v1::UploadDatasetRequest chunk;
  chunk.set_chunk(kUniswap);
  writer->Write(chunk);
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("first upload message must carry the metadata"));
}

TEST_F(DatasetServiceTest, EmptyStreamAndRepeatedMetadataAreInvalid) {
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    v1::UploadDatasetResponse response;
    auto writer = harness_->stub().UploadDataset(&context, &response);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("empty upload stream"));
  }
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(5));
  v1::UploadDatasetResponse response;
  auto writer = harness_->stub().UploadDataset(&context, &response);
  v1::UploadDatasetRequest metadata;
  *metadata.mutable_metadata() = Metadata("tokens");
  writer->Write(metadata);
  writer->Write(metadata);
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("only the first upload message"));
  EXPECT_THAT(Entries(harness_->data_dir() + "/tmp"), IsEmpty());
}

TEST_F(DatasetServiceTest, RejectionsCarryFileLineAndReason) {
  v1::UploadDatasetResponse response;
  grpc::Status bad_name =
      UploadBytes(harness_->stub(), Metadata("bad name"), kUniswap, 10, &response);
  EXPECT_EQ(bad_name.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad_name.error_message(), HasSubstr("invalid dataset name \"bad name\""));

  std::string broken = absl::StrCat(kUniswap, "0xabc,\"Broken\"x,B,18,1\n");
  grpc::Status rejected = UploadBytes(harness_->stub(), Metadata("tokens"), broken, 10, &response);
  EXPECT_EQ(rejected.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(rejected.error_message(), HasSubstr("tokens.csv line 5: malformed quoting"));
  EXPECT_THAT(Entries(harness_->data_dir() + "/tmp"), IsEmpty());
  EXPECT_THAT(Entries(harness_->data_dir() + "/datasets"), IsEmpty());
}

TEST_F(DatasetServiceTest, ValidateReportsWithoutStoring) {
  v1::ValidateDatasetResponse response;
  grpc::Status status =
      ValidateBytes(harness_->stub(), Metadata("tokens"), kUniswap, 10, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.valid());
  EXPECT_EQ(response.dataset().record_count(), 3u);
  EXPECT_EQ(harness_->index().size(), 0u);
  EXPECT_THAT(Entries(harness_->data_dir() + "/datasets"), IsEmpty());
}

TEST_F(DatasetServiceTest, UnknownDatasetIsNotFound) {
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(5));
  v1::GetDatasetRequest request;
  request.set_id("ds-0123456789abcdef");
  v1::GetDatasetResponse response;
  grpc::Status status = harness_->stub().GetDataset(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "dataset \"ds-0123456789abcdef\" not found");

  grpc::ClientContext read_context;
  common::SetDeadline(&read_context, absl::Seconds(5));
  v1::ReadRecordsRequest read;
  read.set_id("ds-0123456789abcdef");
  auto reader = harness_->stub().ReadRecords(&read_context, read);
  v1::ReadRecordsResponse batch;
  EXPECT_FALSE(reader->Read(&batch));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(DatasetServiceTest, SplitAndExportOverGrpc) {
  std::string tokens = "address,name,symbol,decimals,chainId\n";
  for (int i = 0; i < 20; ++i) {
    absl::StrAppend(&tokens, absl::StrFormat("0x%040x", 0x7000 + i), ",Token ", i, ",T", i,
                    ",18,1\n");
  }
  v1::UploadDatasetResponse uploaded;
  ASSERT_TRUE(UploadBytes(harness_->stub(), Metadata("tokens"), tokens, 64, &uploaded).ok());
  const std::string id = uploaded.dataset().id();

  v1::SplitDatasetRequest request;
  request.set_id(id);
  request.set_train_fraction(0.6);
  request.set_validation_fraction(0.2);
  request.set_test_fraction(0.2);
  request.set_seed(3);
  v1::SplitDatasetResponse split;
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    grpc::Status status = harness_->stub().SplitDataset(&context, request, &split);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_FALSE(split.already_existed());
  EXPECT_EQ(split.train().name(), "tokens-train");
  EXPECT_EQ(split.train().address_count(), 12u);
  EXPECT_EQ(split.validation().address_count(), 4u);
  EXPECT_EQ(split.test().address_count(), 4u);
  EXPECT_EQ(split.test().split_origin().parent_id(), id);
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    v1::SplitDatasetResponse again;
    ASSERT_TRUE(harness_->stub().SplitDataset(&context, request, &again).ok());
    EXPECT_TRUE(again.already_existed());
    EXPECT_EQ(again.validation().id(), split.validation().id());
  }

  grpc::ClientContext export_context;
  common::SetDeadline(&export_context, absl::Seconds(5));
  v1::ExportDatasetRequest export_request;
  export_request.set_id(id);
  auto reader = harness_->stub().ExportDataset(&export_context, export_request);
  std::string jsonl;
  v1::ExportDatasetResponse chunk;
  while (reader->Read(&chunk)) jsonl += chunk.chunk();
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 20);
  EXPECT_THAT(jsonl, HasSubstr("\\\"Name\\\":\\\"Token 19 (T19)\\\""));
}

TEST_F(DatasetServiceTest, SplitAndExportErrorsCarryTheirCodes) {
  const std::string id = Upload("tokens");
  v1::SplitDatasetRequest request;
  request.set_id(id);
  request.set_train_fraction(0.9);
  request.set_validation_fraction(0.2);
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    v1::SplitDatasetResponse split;
    grpc::Status status = harness_->stub().SplitDataset(&context, request, &split);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("must sum to 1"));
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    request.set_id("ds-0123456789abcdef");
    request.set_validation_fraction(0.1);
    v1::SplitDatasetResponse split;
    EXPECT_EQ(harness_->stub().SplitDataset(&context, request, &split).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  grpc::ClientContext export_context;
  common::SetDeadline(&export_context, absl::Seconds(5));
  v1::ExportDatasetRequest export_request;
  export_request.set_id(id);
  auto reader = harness_->stub().ExportDataset(&export_context, export_request);
  v1::ExportDatasetResponse chunk;
  EXPECT_FALSE(reader->Read(&chunk));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("has 3 distinct addresses"));
}

TEST_F(DatasetServiceTest, CancelledUploadLeavesNothing) {
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    v1::UploadDatasetResponse response;
    auto writer = harness_->stub().UploadDataset(&context, &response);
    v1::UploadDatasetRequest request;
    *request.mutable_metadata() = Metadata("tokens");
    ASSERT_TRUE(writer->Write(request));
    request.set_chunk(std::string(kUniswap).substr(0, 60));
    ASSERT_TRUE(writer->Write(request));
    context.TryCancel();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // Shutdown waits for the handler, which removes its temporary files before returning.
  harness_->Shutdown();
  EXPECT_THAT(Entries(harness_->data_dir() + "/tmp"), IsEmpty());
  EXPECT_THAT(Entries(harness_->data_dir() + "/datasets"), IsEmpty());
  EXPECT_EQ(harness_->index().size(), 0u);
}

TEST_F(DatasetServiceTest, RejectedUploadStopsReadingAndLeavesNothing) {
  // The first chunk already rejects the file; the client keeps sending chunks, which the
  // service must not read to the end (up to 256 MiB here) before it answers.
  constexpr int kChunks = 4096;
  const std::string filler(64 << 10, 'x');
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(30));
  v1::UploadDatasetResponse response;
  auto writer = harness_->stub().UploadDataset(&context, &response);
  v1::UploadDatasetRequest request;
  *request.mutable_metadata() = Metadata("tokens");
  ASSERT_TRUE(writer->Write(request));
  request.set_chunk("{\"text\": \"no known keys\"}\n");
  ASSERT_TRUE(writer->Write(request));
  int written = 0;
  request.set_chunk(filler);
  while (written < kChunks && writer->Write(request)) ++written;
  EXPECT_LT(written, kChunks / 4);
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("tokens.csv line 1"));
  harness_->Shutdown();
  EXPECT_THAT(Entries(harness_->data_dir() + "/tmp"), IsEmpty());
  EXPECT_THAT(Entries(harness_->data_dir() + "/datasets"), IsEmpty());
  EXPECT_EQ(harness_->index().size(), 0u);
}

TEST_F(DatasetServiceTest, ManyChunksArriveInOrder) {
  // More chunks than the service reads ahead, each a few bytes: the stored dataset must be
  // the same as from one chunk.
  std::string many;
  for (int i = 0; i < 200; ++i) {
    absl::StrAppendFormat(&many, "0x%040x,Token %d,T%d,18,1\n", i + 1, i, i);
  }
  const std::string file = absl::StrCat("address,name,symbol,decimals,chainId\n", many);
  v1::UploadDatasetResponse whole;
  ASSERT_TRUE(UploadBytes(harness_->stub(), Metadata("many"), file, file.size(), &whole).ok());
  v1::ValidateDatasetResponse bytewise;
  grpc::Status status = ValidateBytes(harness_->stub(), Metadata("many"), file, 3, &bytewise);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(bytewise.valid()) << bytewise.rejection();
  EXPECT_EQ(bytewise.dataset().id(), whole.dataset().id());
  EXPECT_EQ(bytewise.dataset().sha256(), whole.dataset().sha256());
  EXPECT_EQ(whole.dataset().record_count(), 200u);
}

TEST_F(DatasetServiceTest, MergeReferencesDeleteStatsAndCsvOverGrpc) {
  const std::string a = Upload("tokens-a");
  v1::UploadDatasetResponse other;
  v1::UploadMetadata metadata = Metadata("darklist");
  ASSERT_TRUE(UploadBytes(harness_->stub(), metadata,
                          "address,comment,date\n"
                          "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2,fake weth,2018-01-01\n",
                          16, &other)
                  .ok());
  const std::string b = other.dataset().id();

  grpc::ClientContext merge_context;
  common::SetDeadline(&merge_context, absl::Seconds(10));
  v1::MergeDatasetsRequest merge;
  merge.add_ids(a);
  merge.add_ids(b);
  merge.set_name("merged");
  v1::MergeDatasetsResponse merged;
  grpc::Status status = harness_->stub().MergeDatasets(&merge_context, merge, &merged);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(merged.dataset().record_count(), 3u);
  EXPECT_EQ(merged.conflict_count(), 1u);  // WETH: Legit (uniswap) vs Scam (darklist).
  ASSERT_EQ(merged.conflicts_size(), 1);
  EXPECT_EQ(merged.conflicts(0).chosen().value(), "Scam");
  EXPECT_EQ(merged.conflicts(0).rule(), "most severe label");

  grpc::ClientContext bad_merge_context;
  common::SetDeadline(&bad_merge_context, absl::Seconds(5));
  merge.clear_ids();
  merge.add_ids(a);
  EXPECT_EQ(harness_->stub().MergeDatasets(&bad_merge_context, merge, &merged).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::DatasetReferenceRequest reference;
  reference.set_id(a);
  reference.set_holder("job/ftjob-1");
  v1::DatasetReferenceResponse referenced;
  const std::string lineage = absl::StrCat("dataset/", merged.dataset().id());
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    ASSERT_TRUE(harness_->stub().AddDatasetReference(&context, reference, &referenced).ok());
    EXPECT_THAT(referenced.dataset().referenced_by(),
                ::testing::ElementsAre(lineage, "job/ftjob-1"));
  }
  v1::DeleteDatasetRequest remove;
  remove.set_id(a);
  v1::DeleteDatasetResponse removed;
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    grpc::Status refused = harness_->stub().DeleteDataset(&context, remove, &removed);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(refused.error_message(), HasSubstr("\"job/ftjob-1\""));
    EXPECT_THAT(refused.error_message(),
                HasSubstr(absl::StrCat("is the parent of dataset \"", merged.dataset().id())));
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    ASSERT_TRUE(harness_->stub().RemoveDatasetReference(&context, reference, &referenced).ok());
    EXPECT_THAT(referenced.dataset().referenced_by(), ::testing::ElementsAre(lineage));
  }
  {
    // The lineage reference cannot be lifted through the reference RPCs.
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    v1::DatasetReferenceRequest lift = reference;
    lift.set_holder(lineage);
    grpc::Status refused = harness_->stub().RemoveDatasetReference(&context, lift, &referenced);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(refused.error_message(), HasSubstr("is reserved"));
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    EXPECT_EQ(harness_->stub().DeleteDataset(&context, remove, &removed).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    v1::GetDatasetStatsRequest stats_request;
    stats_request.set_id(merged.dataset().id());
    stats_request.set_price_per_million_tokens(3);
    v1::GetDatasetStatsResponse stats;
    ASSERT_TRUE(harness_->stub().GetDatasetStats(&context, stats_request, &stats).ok());
    EXPECT_EQ(stats.multi_source_address_count(), 1u);
    EXPECT_EQ(stats.chat_export().example_count(), 3u);
    EXPECT_GT(stats.chat_export().estimated_cost_per_epoch(), 0);
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    v1::ExportDatasetRequest export_request;
    export_request.set_id(merged.dataset().id());
    export_request.set_format(v1::EXPORT_FORMAT_CSV);
    std::unique_ptr<grpc::ClientReader<v1::ExportDatasetResponse>> reader =
        harness_->stub().ExportDataset(&context, export_request);
    std::string csv;
    v1::ExportDatasetResponse chunk;
    while (reader->Read(&chunk)) csv += chunk.chunk();
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
    EXPECT_THAT(csv,
                HasSubstr("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2,1,Wrapped Ether (WETH)"));
  }
  // The merge deleted first, its parent goes too.
  for (const std::string& id : {merged.dataset().id(), a}) {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    remove.set_id(id);
    grpc::Status status = harness_->stub().DeleteDataset(&context, remove, &removed);
    ASSERT_TRUE(status.ok()) << id << ": " << status.error_message();
  }
  {
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(5));
    EXPECT_EQ(harness_->stub().AddDatasetReference(&context, reference, &referenced).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

// ---------------------------------------------------------------------------------------------
// Uploads over a real TCP connection on loopback, with the server's message size limit small
// enough for a test to break it.

constexpr int kMaxMessageBytes = 64 << 10;

// The uniswap file's metadata declaring the size and SHA-256 of `file`, as the CLI sends it.
v1::UploadMetadata DeclaredMetadata(const std::string& name, absl::string_view file) {
  v1::UploadMetadata metadata = Metadata(name);
  metadata.set_size_bytes(file.size());
  metadata.set_sha256(eth::Sha256::HexDigest(file));
  return metadata;
}

// How a test stream ends.
enum class StreamEnd { kWritesDone, kCancel };

class DatasetServiceLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<DatasetServiceHarness>> harness =
        DatasetServiceHarness::Start(DatasetManagerOptions(), kMaxMessageBytes);
    ASSERT_TRUE(harness.ok()) << harness.status();
    harness_ = *std::move(harness);
  }

  // Sends `metadata` and then each of `chunks` as one message over loopback (or through the
  // server's in-process channel), then ends the stream as `end` says; returns the call's
  // status.
  grpc::Status Send(const v1::UploadMetadata& metadata, const std::vector<std::string>& chunks,
                    StreamEnd end = StreamEnd::kWritesDone,
                    v1::UploadDatasetResponse* response = nullptr, bool in_process = false) {
    v1::UploadDatasetResponse ignored;
    grpc::ClientContext context;
    common::SetDeadline(&context, absl::Seconds(30));
    v1::DatasetService::Stub& stub = in_process ? harness_->stub() : harness_->loopback_stub();
    auto writer = stub.UploadDataset(&context, response != nullptr ? response : &ignored);
    v1::UploadDatasetRequest request;
    *request.mutable_metadata() = metadata;
    bool open = writer->Write(request);
    for (size_t i = 0; open && i < chunks.size(); ++i) {
      request.set_chunk(chunks[i]);
      open = writer->Write(request);
    }
    if (end == StreamEnd::kCancel) {
      context.TryCancel();
    } else if (open) {
      writer->WritesDone();
    }
    return writer->Finish();
  }

  // Waits for the handlers in flight (they remove their temporary files before returning),
  // then checks that nothing was stored.
  void ExpectNothingStored() {
    harness_->Shutdown();
    EXPECT_EQ(harness_->index().size(), 0u);
    EXPECT_THAT(Entries(harness_->data_dir() + "/datasets"), IsEmpty());
    EXPECT_THAT(Entries(harness_->data_dir() + "/tmp"), IsEmpty());
  }

  std::unique_ptr<DatasetServiceHarness> harness_;
};

// A message over the limit ends the stream at the server as if the file ended there: the lines
// before it (a valid file on their own) must not be stored. Through the in-process channel
// the call is often not yet marked cancelled when the handler commits (the truncated file was
// stored about two times in three before the declared size was checked).
TEST_F(DatasetServiceLoopbackTest, MessageOverTheSizeLimitStoresNothing) {
  const std::string oversized((kMaxMessageBytes * 3) / 2, '\n');
  const std::string file = absl::StrCat(kUniswap, oversized);
  for (bool in_process : {false, true}) {
    for (int round = 0; round < 5; ++round) {
      grpc::Status status = Send(DeclaredMetadata("tokens", file), {kUniswap, oversized},
                                 StreamEnd::kWritesDone, nullptr, in_process);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << status.error_message();
    }
  }
  ExpectNothingStored();
}

// A message that does not parse (here the last one, cut off) also ends the stream at the
// server as if the file ended there, and the call is not cancelled: only the declared size
// tells the service that the file is incomplete.
TEST_F(DatasetServiceLoopbackTest, CutOffMessageStoresNothing) {
  const std::string rest = "0x6B175474E89094C44Da98b954EedeAC495271d0F,Dai Stablecoin,DAI,18,1\n";
  const std::string file = absl::StrCat(kUniswap, rest);
  v1::UploadDatasetRequest first;
  *first.mutable_metadata() = DeclaredMetadata("tokens", file);
  v1::UploadDatasetRequest second;
  second.set_chunk(kUniswap);
  v1::UploadDatasetRequest last;
  last.set_chunk(rest);
  std::string cut = last.SerializeAsString();
  cut.resize(cut.size() - 10);
  // A raw client stream, so that the cut-off bytes go out as one message.
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(30));
  grpc::ByteBuffer response;
  std::shared_ptr<grpc::Channel> channel =
      common::CreateChannel(absl::StrCat("127.0.0.1:", harness_->port()));
  std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> writer(
      grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(
          channel.get(),
          grpc::internal::RpcMethod("/ethscan.dataset.v1.DatasetService/UploadDataset",
                                    grpc::internal::RpcMethod::CLIENT_STREAMING),
          &context, &response));
  for (const std::string& bytes : {first.SerializeAsString(), second.SerializeAsString(), cut}) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer message(&slice, 1);
    ASSERT_TRUE(writer->Write(message));
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(),
              HasSubstr(absl::StrCat("upload incomplete: received ", std::strlen(kUniswap), " of ",
                                     file.size(), " bytes (size_bytes)")));
  ExpectNothingStored();
}

// Without the declared size and digest (an older client) the service can only rely on the
// call being marked cancelled by the time it commits, which gRPC does not promise: over TCP
// too the truncated file was stored about once in ten runs of this suite. Hence the CLI always
// declares both; a test of that case would be flaky, so there is none.

TEST_F(DatasetServiceLoopbackTest, CancelledUploadStoresNothing) {
  const std::string file = absl::StrCat(kUniswap, kUniswap);
  grpc::Status status =
      Send(DeclaredMetadata("tokens", file), {kUniswap, kUniswap}, StreamEnd::kCancel);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  status = Send(Metadata("tokens"), {kUniswap}, StreamEnd::kCancel);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  ExpectNothingStored();
}

TEST_F(DatasetServiceLoopbackTest, SizeOrDigestThatDiffersIsRefused) {
  const std::string file = kUniswap;
  const std::string head = file.substr(0, 60);
  const std::string tail = file.substr(60);

  // The stream broke off after the first chunk.
  v1::UploadMetadata metadata = DeclaredMetadata("tokens", file);
  grpc::Status status = Send(metadata, {head});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat("upload incomplete: received 60 of ",
                                                             file.size(), " bytes (size_bytes)")));
  // More bytes than declared.
  metadata.set_size_bytes(file.size() - 1);
  status = Send(metadata, {head, tail});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("upload larger than declared"));
  EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat("size_bytes ", file.size() - 1)));
  // The right size, other bytes.
  std::string other = file;
  other.replace(other.find("Wrapped Ether"), 13, "Wrapped Ethex");
  metadata = DeclaredMetadata("tokens", file);
  status = Send(metadata, {other});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr(absl::StrCat("upload corrupt: the bytes received have SHA-256 ",
                                     eth::Sha256::HexDigest(other), ", sha256 says ",
                                     eth::Sha256::HexDigest(file))));
  // A digest that is no digest, and a size over the limit, are refused before any byte.
  metadata.set_sha256("abc");
  status = Send(metadata, {file});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("sha256 \"abc\" is not a SHA-256 digest"));
  metadata = DeclaredMetadata("tokens", file);
  metadata.set_size_bytes(uint64_t{1} << 40);
  status = Send(metadata, {file});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("size_bytes 1099511627776 is over the upload"));
  EXPECT_EQ(harness_->index().size(), 0u);
  EXPECT_THAT(Entries(harness_->data_dir() + "/datasets"), IsEmpty());

  // The dry run checks the same.
  v1::ValidateDatasetResponse validated;
  status = ValidateBytes(harness_->loopback_stub(), DeclaredMetadata("tokens", file), head, 16,
                         &validated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("upload incomplete: received 60 of"));
  status = ValidateBytes(harness_->loopback_stub(), DeclaredMetadata("tokens", file), other, 16,
                         &validated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("upload corrupt"));
  status = ValidateBytes(harness_->loopback_stub(), DeclaredMetadata("tokens", file), file, 16,
                         &validated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(validated.valid());

  // Upper-case hex is the same digest; the matching upload is stored.
  metadata = DeclaredMetadata("tokens", file);
  metadata.set_sha256(absl::AsciiStrToUpper(metadata.sha256()));
  v1::UploadDatasetResponse stored;
  status = Send(metadata, {head, tail}, StreamEnd::kWritesDone, &stored);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(stored.already_existed());
  EXPECT_EQ(stored.dataset().sha256(), eth::Sha256::HexDigest(file));
  EXPECT_EQ(stored.dataset().record_count(), 3u);
  EXPECT_EQ(harness_->index().size(), 1u);
  EXPECT_THAT(Entries(harness_->data_dir() + "/datasets"),
              ::testing::ElementsAre(stored.dataset().id()));
}

// A service stopped during the commit may have stored the dataset while its client saw an
// error; the client's retry must get that dataset back, whichever step the commit reached.
TEST_F(DatasetServiceLoopbackTest, RetryOfACommittedUploadReturnsIt) {
  const std::string file = kUniswap;
  v1::UploadDatasetResponse first;
  ASSERT_TRUE(Send(DeclaredMetadata("tokens", file), {file}, StreamEnd::kWritesDone, &first).ok());
  v1::UploadDatasetResponse retry;
  grpc::Status status =
      Send(DeclaredMetadata("tokens", file), {file}, StreamEnd::kWritesDone, &retry);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(retry.already_existed());
  EXPECT_EQ(retry.dataset().id(), first.dataset().id());
  EXPECT_EQ(harness_->index().size(), 1u);

  // Stopped after the records were renamed into place, before the index listed them.
  absl::StatusOr<DeleteOutcome> unlisted = harness_->index().Delete(first.dataset());
  ASSERT_TRUE(unlisted.ok()) << unlisted.status();
  ASSERT_TRUE(fs::exists(harness_->data_dir() + "/datasets/" + first.dataset().id()));
  status = Send(DeclaredMetadata("tokens", file), {file}, StreamEnd::kWritesDone, &retry);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(retry.dataset().id(), first.dataset().id());
  EXPECT_EQ(harness_->index().size(), 1u);
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(5));
  v1::ReadRecordsRequest read;
  read.set_id(first.dataset().id());
  auto reader = harness_->loopback_stub().ReadRecords(&context, read);
  v1::ReadRecordsResponse batch;
  int records = 0;
  while (reader->Read(&batch)) records += batch.records_size();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(records, 3);
  harness_->Shutdown();
  EXPECT_THAT(Entries(harness_->data_dir() + "/tmp"), IsEmpty());
}

}  // namespace
}  // namespace ethscan::dataset
