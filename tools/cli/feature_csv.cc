#include "tools/cli/feature_csv.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/eth/address.h"
#include "common/features/schema.h"
#include "common/text/quote.h"
#include "services/dataset/canonical_csv.h"

namespace ethscan::cli {
namespace {

// Bytes read from the file at a time.
constexpr size_t kChunkBytes = 64 << 10;

// Columns of the Kaggle layout that hold no feature: the label and the row numbers.
bool IsIgnoredColumn(absl::string_view name) {
  return name.empty() || absl::EqualsIgnoreCase(name, "FLAG") ||
         absl::EqualsIgnoreCase(name, "Index") || absl::StartsWithIgnoreCase(name, "Unnamed:");
}

// A record column of a canonical export (services/dataset/canonical_csv.h): no feature.
bool IsCanonicalRecordColumn(absl::string_view name) {
  for (const char* column : dataset::kCanonicalCsvColumns) {
    if (name == column) return true;
  }
  return false;
}

}  // namespace

// Hands the CSV reader's callbacks to the FeatureCsvReader.
class FeatureCsvReader::Handler final : public dataset::CsvReader::Handler {
 public:
  explicit Handler(FeatureCsvReader* owner) : owner_(owner) {}

  absl::Status OnHeader(uint64_t line, const std::vector<std::string>& columns) override {
    return owner_->OnHeader(columns);
  }
  absl::Status OnRow(const dataset::CsvRow& row) override {
    owner_->OnRow(row);
    return absl::OkStatus();
  }
  absl::Status OnMalformedRow(uint64_t line, absl::string_view reason) override {
    Item item;
    item.skipped = SkippedRow{line, std::string{reason}};
    owner_->items_.push_back(std::move(item));
    return absl::OkStatus();
  }

 private:
  FeatureCsvReader* const owner_;
};

absl::StatusOr<std::unique_ptr<FeatureCsvReader>> FeatureCsvReader::Open(const std::string& path) {
  auto in = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!in->is_open()) {
    const int error = errno;
    const std::string message = absl::StrCat("cannot read ", path, ": ", std::strerror(error));
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  return FromStream(std::move(in), path);
}

absl::StatusOr<std::unique_ptr<FeatureCsvReader>> FeatureCsvReader::FromStream(
    std::unique_ptr<std::istream> in, const std::string& name) {
  std::unique_ptr<FeatureCsvReader> reader(new FeatureCsvReader(std::move(in), name));
  while (!reader->header_read_) {
    if (reader->at_end_) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": empty file, there is no header row"));
    }
    absl::Status status = reader->ReadChunk();
    // A problem after a good header waits for Next, after the rows before it.
    if (!status.ok() && !reader->header_read_) return status;
  }
  return reader;
}

FeatureCsvReader::FeatureCsvReader(std::unique_ptr<std::istream> in, const std::string& name)
    : in_(std::move(in)), name_(name), handler_(std::make_unique<Handler>(this)) {
  dataset::CsvReaderOptions options;
  options.filename = name;
  options.allow_unnamed_first_column = true;
  reader_ = std::make_unique<dataset::CsvReader>(options, handler_.get());
}

FeatureCsvReader::~FeatureCsvReader() = default;

absl::Status FeatureCsvReader::ReadChunk() {
  if (!error_.ok()) return error_;
  std::string chunk(kChunkBytes, '\0');
  in_->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<size_t>(in_->gcount()));
  if (in_->bad()) {
    error_ = absl::DataLossError(absl::StrCat("cannot read ", name_, ": ", std::strerror(errno)));
    return error_;
  }
  absl::Status status = reader_->Feed(chunk);
  if (status.ok() && in_->eof()) {
    at_end_ = true;
    status = reader_->Finish();
  }
  if (!status.ok()) error_ = status;
  return status;
}

absl::Status FeatureCsvReader::OnHeader(const std::vector<std::string>& columns) {
  // Feature position in the schema to the header name that holds it.
  std::map<size_t, std::string> claimed;
  bool have_address = false;
  columns_.resize(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string& name = columns[i];
    Column& column = columns_[i];
    column.header = name;
    if (absl::EqualsIgnoreCase(name, "Address")) {
      if (have_address) {
        return absl::InvalidArgumentError(
            absl::StrCat(name_, ": the header has more than one Address column"));
      }
      have_address = true;
      column.role = Column::Role::kAddress;
      continue;
    }
    if (IsIgnoredColumn(name)) continue;
    // A canonical export (`datasets export --format csv`) names its feature columns
    // "feature:<source column>"; its other columns (label, tags, …) hold no feature.
    absl::string_view feature_column = name;
    const bool canonical = absl::ConsumePrefix(&feature_column, dataset::kFeatureColumnPrefix);
    if (!canonical && IsCanonicalRecordColumn(name)) continue;
    std::optional<size_t> index = features::SchemaIndexOfColumn(feature_column);
    if (!index.has_value()) {
      unknown_columns_.push_back(name);
      continue;
    }
    const features::FeatureDef& def = features::Schema()[*index];
    if (def.kind != features::Kind::kNumber) continue;
    auto [it, inserted] = claimed.emplace(*index, name);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(name_, ": columns ", text::Quote(it->second),
                                                     " and ", text::Quote(name),
                                                     " both hold feature ", def.name));
    }
    column.role = Column::Role::kFeature;
    column.feature = std::string{def.name};
  }
  if (!have_address) {
    return absl::InvalidArgumentError(absl::StrCat(name_, ": the header has no Address column"));
  }
  if (claimed.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": the header has no numeric column of ", features::kSchemaName,
                     " (expected the Kaggle feature columns, e.g. \"Sent tnx\")"));
  }
  feature_columns_ = claimed.size();
  for (const auto& [index, header] : claimed) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (columns_[i].role == Column::Role::kFeature && columns_[i].header == header) {
        feature_order_.push_back(i);
      }
    }
  }
  header_read_ = true;
  return absl::OkStatus();
}

void FeatureCsvReader::OnRow(const dataset::CsvRow& row) {
  Item item;
  item.row.line = row.line;
  auto skip = [&](std::string reason) {
    item.skipped = SkippedRow{row.line, std::move(reason)};
    items_.push_back(std::move(item));
  };
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].role != Column::Role::kAddress) continue;
    absl::string_view text = absl::StripAsciiWhitespace(row.fields[i]);
    if (text.empty()) {
      return skip(absl::StrCat("column ", text::Quote(columns_[i].header), " is empty"));
    }
    absl::StatusOr<eth::Address> address = eth::Address::Parse(text);
    if (!address.ok()) {
      return skip(absl::StrCat("column ", text::Quote(columns_[i].header), ": ",
                               address.status().message()));
    }
    item.row.address = address->ToLowerHex();
  }
  for (size_t i : feature_order_) {
    const Column& column = columns_[i];
    absl::string_view cell = absl::StripAsciiWhitespace(row.fields[i]);
    if (cell.empty() || absl::EqualsIgnoreCase(cell, "nan")) continue;
    double value = 0;
    if (!absl::SimpleAtod(cell, &value)) {
      return skip(absl::StrCat("column ", text::Quote(column.header), ": ", text::Quote(cell),
                               " is not a number"));
    }
    if (!std::isfinite(value)) {
      return skip(absl::StrCat("column ", text::Quote(column.header), ": ", text::Quote(cell),
                               " is not a finite number"));
    }
    item.row.features.emplace_back(column.feature, value);
  }
  if (item.row.features.empty()) return skip("no feature value (every feature cell is empty)");
  items_.push_back(std::move(item));
}

absl::StatusOr<std::optional<FeatureRow>> FeatureCsvReader::Next(
    const std::function<void(const SkippedRow&)>& skipped) {
  while (true) {
    while (!items_.empty()) {
      Item item = std::move(items_.front());
      items_.pop_front();
      if (!item.skipped.has_value()) return std::optional<FeatureRow>(std::move(item.row));
      if (skipped) skipped(*item.skipped);
    }
    if (!error_.ok()) return error_;
    if (at_end_) return std::optional<FeatureRow>();
    absl::Status status = ReadChunk();
    // Rows before a structural problem are still handed out; the error comes after them.
    if (!status.ok() && items_.empty()) return status;
  }
}

}  // namespace ethscan::cli
