#include "tests/integration/reflection_client.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/status/grpc_status.h"

namespace ethscan::testing {
namespace {

constexpr char kMethod[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

// Encodes a length-delimited field.
std::string Field(int number, const std::string& value) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.WriteTag((number << 3) | 2);
  coded.WriteVarint32(value.size());
  coded.WriteString(value);
  coded.Trim();
  return out;
}

// Sends one ServerReflectionRequest and returns the serialized response.
absl::StatusOr<std::string> Call(const std::string& target, const std::string& request) {
  grpc::GenericStub stub(common::CreateChannel(target));
  grpc::ClientContext context;
  common::SetDeadline(&context, absl::Seconds(10));
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, kMethod, &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](int id) { return cq.Next(&tag, &ok) && tag == reinterpret_cast<void*>(id); };
  call->StartCall(reinterpret_cast<void*>(1));
  bool started = step(1) && ok;
  grpc::ByteBuffer response;
  if (started) {
    grpc::Slice slice(request);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, reinterpret_cast<void*>(2));
    step(2);
    call->WritesDone(reinterpret_cast<void*>(3));
    step(3);
    call->Read(&response, reinterpret_cast<void*>(4));
    step(4);
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  if (!status.ok()) return common::FromGrpcStatus(status, "reflection");
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return absl::InternalError("reflection: empty response");
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

// The length-delimited values of field `number` in `message`.
std::vector<std::string> Values(const std::string& message, int number) {
  google::protobuf::UnknownFieldSet fields;
  std::vector<std::string> out;
  if (!fields.ParseFromString(message)) return out;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& f = fields.field(i);
    if (f.number() == number && f.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      out.push_back(f.length_delimited());
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ListServices(const std::string& target) {
  // ServerReflectionRequest.list_services = 7.
  absl::StatusOr<std::string> response = Call(target, Field(7, "*"));
  if (!response.ok()) return response.status();
  // ServerReflectionResponse.list_services_response = 6 → ListServiceResponse.service = 1 →
  // ServiceResponse.name = 1.
  std::vector<std::string> names;
  for (const std::string& list : Values(*response, 6)) {
    for (const std::string& service : Values(list, 1)) {
      for (const std::string& name : Values(service, 1)) names.push_back(name);
    }
  }
  return names;
}

absl::StatusOr<std::vector<std::string>> FileContainingSymbol(const std::string& target,
                                                              const std::string& symbol) {
  // ServerReflectionRequest.file_containing_symbol = 4.
  absl::StatusOr<std::string> response = Call(target, Field(4, symbol));
  if (!response.ok()) return response.status();
  // ServerReflectionResponse.error_response = 7; file_descriptor_response = 4 →
  // FileDescriptorResponse.file_descriptor_proto = 1.
  for (const std::string& error : Values(*response, 7)) {
    std::vector<std::string> message = Values(error, 2);
    return absl::NotFoundError(
        absl::StrCat("reflection: ", message.empty() ? "error" : message.front()));
  }
  std::vector<std::string> files;
  for (const std::string& fd : Values(*response, 4)) {
    for (const std::string& file : Values(fd, 1)) files.push_back(file);
  }
  return files;
}

}  // namespace ethscan::testing
