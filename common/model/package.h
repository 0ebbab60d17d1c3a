// A fine-tuned model as one file (ethscan.model.v1.ModelPackage): adding artefacts with their
// checksums to the manifest, checking a package read back, and finding and parsing its
// artefacts. Training packs, the registry verifies, inference unpacks; all through here.
//
// Thread-safety: free functions over values; safe from any thread.
#ifndef ETHSCAN_COMMON_MODEL_PACKAGE_H_
#define ETHSCAN_COMMON_MODEL_PACKAGE_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ethscan/model/v1/model.pb.h"

namespace ethscan::model {

// Model kinds and other artefact kinds (see model.proto).
inline constexpr absl::string_view kKnowledgeKind = "knowledge";
inline constexpr absl::string_view kClassifierKind = "classifier";
inline constexpr absl::string_view kChatKind = "chat";
inline constexpr absl::string_view kResultsKind = "results";

// Formats of the artefacts.
inline constexpr absl::string_view kKnowledgeFormat = "ethscan.model.v1.KnowledgeIndex";
inline constexpr absl::string_view kClassifierFormat = "ethscan.model.v1.ClassifierArtefact";
inline constexpr absl::string_view kChatFormat = "ethscan.model.v1.ChatModelArtefact";
inline constexpr absl::string_view kCsvFormat = "text/csv";

// True for "knowledge", "classifier" and "chat" (the kinds of models, not of other artefacts).
bool IsModelKind(absl::string_view kind);

// Appends an artefact: its bytes to the package and its kind, format, SHA-256 and size to the
// manifest; a model kind is added to the manifest's kinds (knowledge before classifier).
// INVALID_ARGUMENT when the package already has an artefact of that kind.
absl::Status AddArtefact(v1::ModelPackage* package, absl::string_view kind,
                         absl::string_view format, std::string data);

// Checks that the manifest lists exactly the package's artefacts, in order, each with its
// SHA-256 and size, and that its kinds are those of the model artefacts. DATA_LOSS naming the
// first mismatch, prefixed with `what` ("model \"ft:…\"").
absl::Status Verify(const v1::ModelPackage& package, absl::string_view what);

// Parses and verifies serialized bytes. DATA_LOSS when they do not parse or Verify fails.
absl::StatusOr<v1::ModelPackage> ParsePackage(absl::string_view bytes, absl::string_view what);

// The artefact of `kind`, or null.
const v1::Artefact* FindArtefact(const v1::ModelPackage& package, absl::string_view kind);

// The parsed artefacts; nullopt when the package has none of that kind, DATA_LOSS when it
// does not parse.
absl::StatusOr<std::optional<v1::KnowledgeIndex>> KnowledgeOf(const v1::ModelPackage& package);
absl::StatusOr<std::optional<v1::ClassifierArtefact>> ClassifierOf(const v1::ModelPackage& package);
absl::StatusOr<std::optional<v1::ChatModelArtefact>> ChatOf(const v1::ModelPackage& package);

// Packs behavioural features into a knowledge index's entries (KnowledgeEntry.features), each
// name stored once in the index's feature_names.
//
// Thread-compatible: one packer per index being built.
class FeaturePacker {
 public:
  // Names already in `index` are reused; `index` must outlive the packer.
  explicit FeaturePacker(v1::KnowledgeIndex* index);

  // Replaces `out` with `features`, in their order.
  void Pack(const google::protobuf::RepeatedPtrField<common::v1::Feature>& features,
            v1::PackedFeatures* out);

 private:
  v1::KnowledgeIndex* index_;
  absl::flat_hash_map<std::string, uint32_t> positions_;
};

// Appends the behavioural features of `entry` (of `index`) to `out`: its packed features, or,
// in a model published before features were packed, merged.features. DATA_LOSS when a packed
// feature names no entry of the index's feature_names.
absl::Status AppendFeatures(const v1::KnowledgeIndex& index, const v1::KnowledgeEntry& entry,
                            google::protobuf::RepeatedPtrField<common::v1::Feature>* out);

// The kinds joined by "+" ("knowledge+classifier").
std::string KindsLabel(const v1::Manifest& manifest);

// A message serialized deterministically (map fields in key order), so the same package or
// artefact always gives the same bytes and the same SHA-256.
std::string SerializeDeterministic(const google::protobuf::MessageLite& message);

}  // namespace ethscan::model

#endif  // ETHSCAN_COMMON_MODEL_PACKAGE_H_
