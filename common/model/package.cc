#include "common/model/package.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eth/hash.h"
#include "common/text/quote.h"

namespace ethscan::model {
namespace {

absl::Status Lost(absl::string_view what, absl::string_view problem) {
  return absl::DataLossError(absl::StrCat(what, ": ", problem));
}

template <typename Message>
absl::StatusOr<std::optional<Message>> ParseArtefact(const v1::ModelPackage& package,
                                                     absl::string_view kind) {
  const v1::Artefact* artefact = FindArtefact(package, kind);
  if (artefact == nullptr) return std::optional<Message>();
  Message message;
  if (!message.ParseFromString(artefact->data())) {
    return Lost(absl::StrCat("model ", text::Quote(package.manifest().name())),
                absl::StrCat("its ", kind, " artefact does not parse"));
  }
  return std::optional<Message>(std::move(message));
}

}  // namespace

bool IsModelKind(absl::string_view kind) {
  return kind == kKnowledgeKind || kind == kClassifierKind || kind == kChatKind;
}

absl::Status AddArtefact(v1::ModelPackage* package, absl::string_view kind,
                         absl::string_view format, std::string data) {
  if (FindArtefact(*package, kind) != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model already has a ", text::Quote(kind), " artefact"));
  }
  v1::Manifest* manifest = package->mutable_manifest();
  v1::ArtefactInfo* info = manifest->add_artefacts();
  info->set_kind(std::string(kind));
  info->set_format(std::string(format));
  info->set_sha256(eth::Sha256::HexDigest(data));
  info->set_size_bytes(data.size());
  v1::Artefact* artefact = package->add_artefacts();
  artefact->set_kind(std::string(kind));
  artefact->set_data(std::move(data));
  if (IsModelKind(kind)) {
    std::vector<std::string> kinds(manifest->kinds().begin(), manifest->kinds().end());
    kinds.emplace_back(kind);
    // Knowledge first, then the classifier.
    std::sort(kinds.begin(), kinds.end(), [](const std::string& a, const std::string& b) {
      return (a == kKnowledgeKind ? 0 : 1) < (b == kKnowledgeKind ? 0 : 1);
    });
    manifest->clear_kinds();
    for (std::string& k : kinds) manifest->add_kinds(std::move(k));
  }
  return absl::OkStatus();
}

absl::Status Verify(const v1::ModelPackage& package, absl::string_view what) {
  const v1::Manifest& manifest = package.manifest();
  if (manifest.artefacts_size() != package.artefacts_size()) {
    return Lost(what, absl::StrCat("the manifest lists ", manifest.artefacts_size(),
                                   " artefacts, the package holds ", package.artefacts_size()));
  }
  std::vector<std::string> kinds;
  for (int i = 0; i < package.artefacts_size(); ++i) {
    const v1::ArtefactInfo& info = manifest.artefacts(i);
    const v1::Artefact& artefact = package.artefacts(i);
    if (info.kind() != artefact.kind()) {
      return Lost(what, absl::StrCat("artefact ", i, " is ", text::Quote(artefact.kind()),
                                     " but the manifest says ", text::Quote(info.kind())));
    }
    if (artefact.data().size() != info.size_bytes()) {
      return Lost(what, absl::StrCat("the ", text::Quote(info.kind()), " artefact has ",
                                     artefact.data().size(), " bytes, the manifest says ",
                                     info.size_bytes()));
    }
    if (eth::Sha256::HexDigest(artefact.data()) != info.sha256()) {
      return Lost(what, absl::StrCat("the ", text::Quote(info.kind()),
                                     " artefact does not match its SHA-256"));
    }
    if (IsModelKind(info.kind())) kinds.push_back(info.kind());
  }
  std::vector<std::string> listed(manifest.kinds().begin(), manifest.kinds().end());
  std::sort(kinds.begin(), kinds.end());
  std::sort(listed.begin(), listed.end());
  if (kinds != listed) {
    return Lost(what, absl::StrCat("the manifest names the kinds ", KindsLabel(manifest),
                                   " but the artefacts are ", absl::StrJoin(kinds, "+")));
  }
  if (kinds.empty()) return Lost(what, "the package holds no model artefact");
  return absl::OkStatus();
}

absl::StatusOr<v1::ModelPackage> ParsePackage(absl::string_view bytes, absl::string_view what) {
  v1::ModelPackage package;
  if (!package.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Lost(what, "the stored bytes are not a model package");
  }
  absl::Status verified = Verify(package, what);
  if (!verified.ok()) return verified;
  return package;
}

const v1::Artefact* FindArtefact(const v1::ModelPackage& package, absl::string_view kind) {
  for (const v1::Artefact& a : package.artefacts()) {
    if (a.kind() == kind) return &a;
  }
  return nullptr;
}

absl::StatusOr<std::optional<v1::KnowledgeIndex>> KnowledgeOf(const v1::ModelPackage& package) {
  return ParseArtefact<v1::KnowledgeIndex>(package, kKnowledgeKind);
}

absl::StatusOr<std::optional<v1::ClassifierArtefact>> ClassifierOf(
    const v1::ModelPackage& package) {
  return ParseArtefact<v1::ClassifierArtefact>(package, kClassifierKind);
}

absl::StatusOr<std::optional<v1::ChatModelArtefact>> ChatOf(const v1::ModelPackage& package) {
  return ParseArtefact<v1::ChatModelArtefact>(package, kChatKind);
}

FeaturePacker::FeaturePacker(v1::KnowledgeIndex* index) : index_(index) {
  for (int i = 0; i < index->feature_names_size(); ++i) {
    positions_.try_emplace(index->feature_names(i), static_cast<uint32_t>(i));
  }
}

void FeaturePacker::Pack(const google::protobuf::RepeatedPtrField<common::v1::Feature>& features,
                         v1::PackedFeatures* out) {
  out->Clear();
  out->mutable_names()->Reserve(features.size());
  out->mutable_numbers()->Reserve(features.size());
  for (const common::v1::Feature& f : features) {
    auto [it, added] =
        positions_.try_emplace(f.name(), static_cast<uint32_t>(index_->feature_names_size()));
    if (added) index_->add_feature_names(f.name());
    const uint32_t position = static_cast<uint32_t>(out->names_size());
    out->add_names(it->second);
    if (f.value_case() == common::v1::Feature::kText) {
      out->add_numbers(std::numeric_limits<double>::quiet_NaN());
      (*out->mutable_texts())[position] = f.text();
    } else {
      out->add_numbers(f.number());
    }
  }
}

absl::Status AppendFeatures(const v1::KnowledgeIndex& index, const v1::KnowledgeEntry& entry,
                            google::protobuf::RepeatedPtrField<common::v1::Feature>* out) {
  const v1::PackedFeatures& packed = entry.features();
  if (packed.names_size() == 0) {
    for (const common::v1::Feature& f : entry.merged().features()) *out->Add() = f;
    return absl::OkStatus();
  }
  const auto lost = [&entry](absl::string_view problem) {
    return Lost(absl::StrCat("the knowledge entry of ", text::Quote(entry.merged().address())),
                problem);
  };
  if (packed.numbers_size() != packed.names_size()) {
    return lost(absl::StrCat("its packed features have ", packed.names_size(), " names and ",
                             packed.numbers_size(), " numbers"));
  }
  out->Reserve(out->size() + packed.names_size());
  for (int i = 0; i < packed.names_size(); ++i) {
    const uint32_t name = packed.names(i);
    if (name >= static_cast<uint32_t>(index.feature_names_size())) {
      return lost(absl::StrCat("its feature ", i, " names feature ", name, " of ",
                               index.feature_names_size()));
    }
    common::v1::Feature* f = out->Add();
    f->set_name(index.feature_names(static_cast<int>(name)));
    auto text = packed.texts().find(static_cast<uint32_t>(i));
    if (text != packed.texts().end()) {
      f->set_text(text->second);
    } else {
      f->set_number(packed.numbers(i));
    }
  }
  return absl::OkStatus();
}

std::string KindsLabel(const v1::Manifest& manifest) {
  return absl::StrJoin(manifest.kinds(), "+");
}

std::string SerializeDeterministic(const google::protobuf::MessageLite& message) {
  // Sized once, written in place: a growing string would copy a large model several times.
  const size_t size = message.ByteSizeLong();
  std::string out(size, '\0');
  google::protobuf::io::ArrayOutputStream stream(out.data(), static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeWithCachedSizes(&coded);
  return out;
}

}  // namespace ethscan::model
