// ethscan_upload_bench: the pieces of the upload benchmark that tools/bench/upload_bench.sh
// drives (it starts Redis and the dataset service, and runs jq).
//
//   ethscan_upload_bench generate --out=FILE [--bytes=N] [--data_dir=DIR] [--addresses=N]
//       writes a deterministic OpenAI chat JSONL file of at least N bytes
//       (chat_jsonl_generator.h)
//   ethscan_upload_bench upload --target=HOST:PORT --file=FILE [--name=NAME]
//       [--chunk_bytes=N] streams FILE through DatasetService.UploadDataset, as
//       `ethscan datasets upload` does, and reports the wall time; fails unless every line
//       became a record
//   ethscan_upload_bench free-port
//       prints a TCP port on 127.0.0.1 that was free a moment ago
//
// Results go to stdout as one "key=value ..." line after a human-readable one.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/grpc/channel.h"
#include "common/status/grpc_status.h"
#include "ethscan/dataset/v1/dataset_service.grpc.pb.h"
#include "tools/bench/chat_jsonl_generator.h"

ABSL_FLAG(std::string, out, "", "generate: output file");
ABSL_FLAG(uint64_t, bytes, uint64_t{1} << 30, "generate: minimum file size in bytes");
ABSL_FLAG(std::string, data_dir, "", "generate: directory of CSV files with real addresses");
ABSL_FLAG(uint64_t, addresses, 200000, "generate: distinct addresses in the file");
ABSL_FLAG(uint64_t, seed, 1, "generate: seed");
ABSL_FLAG(std::string, target, "", "upload: dataset service host:port");
ABSL_FLAG(std::string, file, "", "upload: file to upload");
ABSL_FLAG(std::string, name, "upload-bench", "upload: dataset name");
ABSL_FLAG(uint64_t, chunk_bytes, 1 << 20, "upload: bytes per UploadDataset message");
ABSL_FLAG(int, connect_timeout_s, 30, "upload: seconds to wait for the service to accept calls");

namespace ethscan::bench {
namespace {

namespace dsv1 = ::ethscan::dataset::v1;

absl::Status Generate() {
  ChatJsonlOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.min_bytes = absl::GetFlag(FLAGS_bytes);
  options.distinct_addresses = absl::GetFlag(FLAGS_addresses);
  options.seed = absl::GetFlag(FLAGS_seed);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return absl::InvalidArgumentError("generate needs --out");
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ChatJsonlStats> stats = WriteChatJsonl(options, out);
  if (!stats.ok()) return stats.status();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << absl::StrFormat(
      "generated %s: %d bytes, %d lines, %d distinct addresses (%d real) in %.1f s\n"
      "bytes=%d lines=%d addresses=%d real_addresses=%d\n",
      out, stats->bytes, stats->lines, stats->distinct_addresses, stats->real_addresses, seconds,
      stats->bytes, stats->lines, stats->distinct_addresses, stats->real_addresses);
  return absl::OkStatus();
}

absl::Status Upload() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string path = absl::GetFlag(FLAGS_file);
  const uint64_t chunk_bytes = absl::GetFlag(FLAGS_chunk_bytes);
  if (target.empty() || path.empty())
    return absl::InvalidArgumentError("upload needs --target and --file");
  if (chunk_bytes == 0 || chunk_bytes > (32 << 20)) {
    return absl::InvalidArgumentError("--chunk_bytes must be in 1..33554432");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  std::shared_ptr<grpc::Channel> channel = common::CreateChannel(target);
  if (!channel->WaitForConnected(absl::ToChronoTime(
          absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_connect_timeout_s))))) {
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("the dataset service at ", target, " did not accept a connection"));
  }
  std::unique_ptr<dsv1::DatasetService::Stub> stub = dsv1::DatasetService::NewStub(channel);

  const auto start = std::chrono::steady_clock::now();
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Hours(1));
  dsv1::UploadDatasetResponse response;
  std::unique_ptr<grpc::ClientWriter<dsv1::UploadDatasetRequest>> writer =
      stub->UploadDataset(&context, &response);
  dsv1::UploadDatasetRequest request;
  dsv1::UploadMetadata* metadata = request.mutable_metadata();
  metadata->set_name(absl::GetFlag(FLAGS_name));
  metadata->set_filename(std::filesystem::path(path).filename().string());
  bool writing = writer->Write(request);
  // Read straight into the message's buffer, which moves back and forth between the two.
  std::string buffer(chunk_bytes, '\0');
  uint64_t sent = 0;
  int read_errno = 0;
  while (writing) {
    buffer.resize(chunk_bytes);
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) read_errno = errno;
    if (n <= 0) break;
    buffer.resize(static_cast<size_t>(n));
    request.set_chunk(std::move(buffer));
    writing = writer->Write(request);
    buffer = std::move(*request.mutable_chunk());
    if (writing) sent += static_cast<uint64_t>(n);
  }
  ::close(fd);
  if (read_errno != 0) {
    context.TryCancel();
  } else if (writing) {
    writer->WritesDone();
  }
  const grpc::Status status = writer->Finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (read_errno != 0) {
    return absl::InternalError(absl::StrCat("cannot read ", path, ": ", std::strerror(read_errno)));
  }
  if (!status.ok()) return common::FromGrpcStatus(status);
  const dsv1::Dataset& dataset = response.dataset();
  std::cout << absl::StrFormat(
      "uploaded %s: %d bytes in %.2f s = %.1f MB/s; dataset %s: %d lines, %d records, %d "
      "invalid, %d addresses%s\n"
      "seconds=%.3f bytes=%d mb_per_s=%.1f lines=%d records=%d invalid=%d addresses=%d\n",
      path, sent, seconds, sent / seconds / 1e6, dataset.id(), dataset.line_count(),
      dataset.record_count(), dataset.invalid_line_count(), dataset.address_count(),
      response.already_existed() ? " (already existed)" : "", seconds, sent, sent / seconds / 1e6,
      dataset.line_count(), dataset.record_count(), dataset.invalid_line_count(),
      dataset.address_count());
  if (dataset.size_bytes() != sent || dataset.invalid_line_count() != 0 ||
      dataset.record_count() != dataset.line_count()) {
    return absl::InternalError(
        absl::StrCat("the service did not take every line as a record: ", response.issues_size(),
                     " issues, first: ",
                     response.issues().empty() ? "none" : response.issues(0).ShortDebugString()));
  }
  return absl::OkStatus();
}

absl::Status FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    const int err = errno;
    ::close(fd);
    return absl::InternalError(absl::StrCat("bind 127.0.0.1:0: ", std::strerror(err)));
  }
  ::close(fd);
  std::cout << ntohs(address.sin_port) << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace ethscan::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("ethscan_upload_bench generate|upload|free-port [--flags]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string command = args.size() == 2 ? args[1] : "";
  absl::Status status;
  if (command == "generate") {
    status = ethscan::bench::Generate();
  } else if (command == "upload") {
    status = ethscan::bench::Upload();
  } else if (command == "free-port") {
    status = ethscan::bench::FreePort();
  } else {
    status = absl::InvalidArgumentError("usage: ethscan_upload_bench generate|upload|free-port");
  }
  if (!status.ok()) std::cerr << "ethscan_upload_bench: " << status.ToString() << "\n";
  return status.ok() ? 0 : 1;
}
