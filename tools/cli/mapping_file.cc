#include "tools/cli/mapping_file.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ethscan::cli {
namespace {

// Accepts every JSON event and keeps the first syntax error, so that nlohmann::json checks
// the syntax and names the position without throwing.
class SyntaxCheck final : public nlohmann::json::json_sax_t {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::json::exception& error) override {
    error_ = error.what();
    return false;
  }

  // "line 3, column 12: syntax error …", or "" when the text is valid JSON.
  std::string error() const {
    absl::string_view e = error_;
    // nlohmann's what() reads "[json.exception.parse_error.101] parse error at line 3, …".
    const size_t at = e.find("parse error at ");
    if (at != absl::string_view::npos) e.remove_prefix(at + 15);
    return std::string{e};
  }

 private:
  std::string error_;
};

// "line 3, column 12: reason" -> "3:12: reason"; other text unchanged.
std::string CompactPosition(const std::string& error) {
  unsigned line = 0, column = 0;
  int consumed = 0;
  if (std::sscanf(error.c_str(), "line %u, column %u: %n", &line, &column, &consumed) == 2 &&
      consumed > 0) {
    return absl::StrCat(line, ":", column, ": not valid JSON: ", error.substr(consumed));
  }
  return absl::StrCat(" not valid JSON: ", error);
}

std::string FieldNames(const google::protobuf::Descriptor& d) {
  std::vector<std::string> names;
  for (int i = 0; i < d.field_count(); ++i) names.push_back(d.field(i)->name());
  return absl::StrJoin(names, ", ");
}

// The message type at `path` below ColumnMapping ("label", "features[0]", "label.values"), or
// nullptr.
const google::protobuf::Descriptor* MessageAt(absl::string_view path) {
  const google::protobuf::Descriptor* d = dataset::v1::ColumnMapping::descriptor();
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    part = part.substr(0, part.find('['));
    const std::string name{part};
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr) f = d->FindFieldByCamelcaseName(name);
    if (f == nullptr || f->message_type() == nullptr || f->is_map()) return nullptr;
    d = f->message_type();
  }
  return d;
}

// Makes protobuf's JSON error readable: "nam: Cannot find field." and "(label) colum: Cannot
// find field." become an unknown field named with the known ones; other messages, such as
// "(name): invalid value 5 for type TYPE_STRING", already name the field.
std::string DescribeSchemaError(absl::string_view message) {
  absl::string_view m = message;
  absl::ConsumePrefix(&m, ": ");
  if (!absl::ConsumeSuffix(&m, ": Cannot find field.")) return std::string{m};
  std::string where = "a ColumnMapping";
  const google::protobuf::Descriptor* d = dataset::v1::ColumnMapping::descriptor();
  if (absl::ConsumePrefix(&m, "(")) {
    const size_t close = m.find(") ");
    if (close == absl::string_view::npos) return std::string{message};
    const absl::string_view parent = m.substr(0, close);
    where = absl::StrCat("\"", parent, "\"");
    d = MessageAt(parent);
    m.remove_prefix(close + 2);
  }
  std::string out = absl::StrCat("unknown field \"", m, "\" in ", where);
  if (d != nullptr) absl::StrAppend(&out, " (its fields: ", FieldNames(*d), ")");
  return out;
}

}  // namespace

absl::StatusOr<dataset::v1::ColumnMapping> ParseColumnMapping(absl::string_view path,
                                                              absl::string_view json) {
  SyntaxCheck check;
  const std::string text{json};
  if (!nlohmann::json::sax_parse(text, &check) || !check.error().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", CompactPosition(check.error())));
  }
  dataset::v1::ColumnMapping mapping;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(text, &mapping, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a ColumnMapping: ", DescribeSchemaError(std::string(status.message()))));
  }
  if (mapping.address_column().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": \"address_column\" is required (the column that holds the address)"));
  }
  if (mapping.label().column().empty() && mapping.label().value().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": \"label\" needs a \"column\" or a constant \"value\" (every record "
                     "needs a report label)"));
  }
  return mapping;
}

absl::StatusOr<dataset::v1::ColumnMapping> ReadColumnMappingFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read mapping file ", path, ": is a directory"));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) {
    const int error = errno;
    const std::string message =
        absl::StrCat("cannot read mapping file ", path, ": ", std::strerror(error));
    return error == ENOENT ? absl::NotFoundError(message) : absl::FailedPreconditionError(message);
  }
  std::string json((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read mapping file ", path, ": ", std::strerror(errno)));
  }
  return ParseColumnMapping(path, json);
}

}  // namespace ethscan::cli
