// ethscan_dataset: the dataset service. Flags win over environment variables, which win over
// the defaults; see --help.
#include <malloc.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/config/config.h"
#include "common/config/usage.h"
#include "common/grpc/server.h"
#include "common/log/log.h"
#include "common/redis/redis_client.h"
#include "common/status/status_macros.h"
#include "services/dataset/dataset_manager.h"
#include "services/dataset/dataset_service.h"
#include "services/dataset/file_record_store.h"
#include "services/dataset/redis_dataset_index.h"

ABSL_FLAG(std::string, listen, "", "host:port to serve on (env ETHSCAN_DATASET_LISTEN)");
ABSL_FLAG(std::string, data_dir, "", "dataset storage directory (env ETHSCAN_DATASET_DIR)");
ABSL_FLAG(std::string, shutdown_deadline, "10s", "grace period for calls on SIGTERM");
ABSL_FLAG(int64_t, max_upload_bytes, int64_t{1} << 30, "largest accepted upload, in bytes");
ABSL_FLAG(int64_t, max_line_bytes, int64_t{1} << 20,
          "longest accepted CSV row or JSON line, in bytes");
ABSL_FLAG(int64_t, max_records, int64_t{100} << 20, "most records one upload may yield");
ABSL_FLAG(int64_t, max_tag_chars, 128,
          "longest tag of a record, in characters; a longer one skips its line, or refuses "
          "the upload when it is a --tag of the request");
ABSL_FLAG(int64_t, max_tags, 32, "most tags of a record (as --max_tag_chars)");
ABSL_FLAG(int64_t, max_field_chars, 256,
          "longest name, account type, contract type, entity, label, source or text feature "
          "of a record, in characters (as --max_tag_chars)");
ABSL_FLAG(int64_t, max_note_chars, 1024, "longest note of a record, in characters");

namespace ethscan::dataset {
namespace {

absl::Status Run() {
  ASSIGN_OR_RETURN(
      common::ServerOptions server,
      common::ServerOptionsFromFlags(absl::GetFlag(FLAGS_listen), "ETHSCAN_DATASET_LISTEN",
                                     config::kDatasetPort, absl::GetFlag(FLAGS_shutdown_deadline)));
  DatasetManagerOptions options;
  if (absl::GetFlag(FLAGS_max_upload_bytes) <= 0) {
    return absl::InvalidArgumentError("--max_upload_bytes must be positive");
  }
  options.max_upload_bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_max_upload_bytes));
  if (absl::GetFlag(FLAGS_max_line_bytes) <= 0) {
    return absl::InvalidArgumentError("--max_line_bytes must be positive");
  }
  options.max_row_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_line_bytes));
  if (absl::GetFlag(FLAGS_max_records) <= 0) {
    return absl::InvalidArgumentError("--max_records must be positive");
  }
  options.max_records = static_cast<uint64_t>(absl::GetFlag(FLAGS_max_records));
  struct Limit {
    const char* flag;
    int64_t value;
    size_t* field;
  };
  for (const Limit& limit :
       {Limit{"max_tag_chars", absl::GetFlag(FLAGS_max_tag_chars), &options.max_tag_chars},
        Limit{"max_tags", absl::GetFlag(FLAGS_max_tags), &options.max_tags},
        Limit{"max_field_chars", absl::GetFlag(FLAGS_max_field_chars), &options.max_field_chars},
        Limit{"max_note_chars", absl::GetFlag(FLAGS_max_note_chars), &options.max_note_chars}}) {
    if (limit.value <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("--", limit.flag, " must be positive"));
    }
    *limit.field = static_cast<size_t>(limit.value);
  }
  FileRecordStoreOptions store_options;
  store_options.data_dir = config::FlagOrEnv(absl::GetFlag(FLAGS_data_dir), "ETHSCAN_DATASET_DIR",
                                             ".ethscan/data/dataset");
  ASSIGN_OR_RETURN(std::unique_ptr<FileRecordStore> store, FileRecordStore::Create(store_options));
  // Redis may start after this service or be restarting: the service starts all the same,
  // answers UNAVAILABLE and reports NOT_SERVING readiness until Redis answers.
  ASSIGN_OR_RETURN(std::unique_ptr<redis::HiredisClient> redis,
                   redis::HiredisClient::CreateLazy(redis::Options::FromEnv()));
  redis::Client* readiness_redis = redis.get();
  ASSIGN_OR_RETURN(
      std::unique_ptr<DatasetManager> manager,
      DatasetManager::Create(options, std::make_unique<RedisDatasetIndex>(std::move(redis)),
                             std::move(store), &common::SystemClock::Get()));
  DatasetServiceImpl service(manager.get());
  // Readiness follows Redis, where the dataset index lives.
  server.readiness_services = {v1::DatasetService::service_full_name()};
  server.readiness_check = [readiness_redis] { return redis::Ping(*readiness_redis); };
  return common::RunServer(server, {&service});
}

}  // namespace
}  // namespace ethscan::dataset

int main(int argc, char** argv) {
  // First, so that every thread started later (the upload sweep, gRPC's) has them blocked too.
  ethscan::common::BlockTerminationSignals();
  ethscan::config::InitUsage(
      "ethscan_dataset [--listen=HOST:PORT] [--data_dir=DIR] …: the dataset service (uploads, "
      "validation, splits, exports of labelled address data). Redis from REDIS_URL.");
  absl::ParseCommandLine(argc, argv);
  ethscan::log::SetComponent("dataset");
  // Uploads arrive as 1 MiB messages, each allocated and freed in turn. By default glibc would
  // serve many of them from fresh mappings, or trim the heap under them, and the kernel would
  // zero every page again: about 100,000 page faults per GB uploaded. Blocks up to 4 MiB stay
  // on the heap, which keeps up to 16 MiB free before giving memory back, in one heap per core
  // rather than eight: a third of the faults, and a lower peak than the defaults.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  absl::Status status = ethscan::dataset::Run();
  if (!status.ok()) ethscan::log::Error("dataset service failed: ", status.ToString());
  return status.ok() ? 0 : 1;
}
