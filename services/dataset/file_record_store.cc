#include "services/dataset/file_record_store.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/eth/hash.h"
#include "common/file/lock.h"
#include "common/log/log.h"
#include "common/text/quote.h"
#include "nlohmann/json.hpp"

namespace ethscan::dataset {
namespace {

namespace fs = std::filesystem;

constexpr char kRecordsFile[] = "records.pb";
constexpr char kManifestFile[] = "manifest.json";
// Held locked (an open file description lock) by the writer of an upload directory for the
// writer's life.
constexpr char kLockFile[] = "writer.lock";
constexpr char kUploadPrefix[] = "upload-";
constexpr size_t kFlushBytes = 1 << 20;

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

absl::Status WriteAll(int fd, absl::string_view bytes, absl::string_view what) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, what);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, absl::StrCat("fsync ", path));
  return absl::OkStatus();
}

// Ids become directory names, so only plain names are accepted.
absl::Status CheckId(absl::string_view id) {
  bool ok = !id.empty() && id.size() <= 128 && id != "." && id != "..";
  for (char c : id) {
    ok = ok &&
         (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  }
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("invalid dataset id ", text::Quote(id)));
  return absl::OkStatus();
}

// Writes the records of one upload into tmp/upload-XXXXXX/records.pb, holding the lock on
// tmp/upload-XXXXXX/writer.lock (`lock_fd`) until it commits or aborts.
class FileRecordWriter final : public RecordWriter {
 public:
  FileRecordWriter(std::string dir, int lock_fd, int fd, std::string datasets_dir)
      : dir_(std::move(dir)), lock_fd_(lock_fd), fd_(fd), datasets_dir_(std::move(datasets_dir)) {}
  ~FileRecordWriter() override { Abort(); }

  absl::Status Write(const common::v1::AddressRecord& record) override {
    if (done_) return absl::FailedPreconditionError("record writer already finished");
    // The varint length and then the message, as SerializeDelimitedToZeroCopyStream writes
    // them; appended directly, because a StringOutputStream would zero the buffer's whole
    // spare capacity for every record.
    const size_t size = record.ByteSizeLong();
    if (size > static_cast<size_t>(std::numeric_limits<int>::max())) {
      return absl::InternalError("cannot serialize a record");
    }
    uint8_t header[5];  // A varint32 takes at most 5 bytes.
    const uint8_t* header_end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
        static_cast<uint32_t>(size), header);
    buffer_.append(reinterpret_cast<const char*>(header), header_end - header);
    const size_t start = buffer_.size();
    buffer_.resize(start + size);
    record.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(&buffer_[start]));
    ++count_;
    if (buffer_.size() >= kFlushBytes) return Flush();
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Commit(absl::string_view id) override {
    if (done_) return absl::FailedPreconditionError("record writer already finished");
    absl::Status status = CommitFiles(id);
    if (!status.ok()) {
      Abort();
      return status;
    }
    const std::string target = absl::StrCat(datasets_dir_, "/", id);
    if (::rename(dir_.c_str(), target.c_str()) != 0) {
      int err = errno;
      Abort();
      if (err == EEXIST || err == ENOTEMPTY) return true;
      return ErrnoStatus(err, absl::StrCat("rename ", dir_, " to ", target));
    }
    done_ = true;
    // The lock file came along; the lock is released only now that the directory is out of
    // tmp/, so no sweep ever sees it unlocked while it is still there.
    ::unlink(absl::StrCat(target, "/", kLockFile).c_str());
    ReleaseLock();
    status = FsyncDir(datasets_dir_);
    if (!status.ok()) return status;
    return false;
  }

  void Abort() override {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (done_) {
      ReleaseLock();
      return;
    }
    done_ = true;
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec) log::Warning("cannot remove ", dir_, ": ", ec.message());
    ReleaseLock();
  }

 private:
  void ReleaseLock() {
    if (lock_fd_ < 0) return;
    ::close(lock_fd_);  // Drops the lock.
    lock_fd_ = -1;
  }

  absl::Status Flush() {
    sha_.Update(buffer_);
    absl::Status status = WriteAll(fd_, buffer_, absl::StrCat("write ", dir_, "/", kRecordsFile));
    buffer_.clear();
    return status;
  }

  absl::Status CommitFiles(absl::string_view id) {
    absl::Status status = CheckId(id);
    if (!status.ok()) return status;
    status = Flush();
    if (!status.ok()) return status;
    if (::fsync(fd_) != 0) return ErrnoStatus(errno, absl::StrCat("fsync ", dir_, "/records"));
    ::close(fd_);
    fd_ = -1;
    nlohmann::json manifest = {
        {"records_sha256", sha_.FinishHex()}, {"record_count", count_}, {"version", 1}};
    const std::string manifest_path = absl::StrCat(dir_, "/", kManifestFile);
    int fd = ::open(manifest_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus(errno, absl::StrCat("create ", manifest_path));
    status = WriteAll(fd, manifest.dump(2) + "\n", absl::StrCat("write ", manifest_path));
    if (status.ok() && ::fsync(fd) != 0) {
      status = ErrnoStatus(errno, absl::StrCat("fsync ", manifest_path));
    }
    ::close(fd);
    if (!status.ok()) return status;
    return FsyncDir(dir_);
  }

  const std::string dir_;
  int lock_fd_;
  int fd_;
  const std::string datasets_dir_;
  std::string buffer_;
  eth::Sha256 sha_;
  uint64_t count_ = 0;
  bool done_ = false;
};

// Reads records.pb after its checksum was verified.
class FileRecordReader final : public RecordReader {
 public:
  FileRecordReader(std::string id, int fd, uint64_t expected_count)
      : id_(std::move(id)), input_(fd), expected_count_(expected_count) {
    input_.SetCloseOnDelete(true);
  }

  absl::StatusOr<bool> Next(common::v1::AddressRecord* record) override {
    bool clean_eof = false;
    // Parsing merges into the message, so a reused record must be emptied first.
    record->Clear();
    if (google::protobuf::util::ParseDelimitedFromZeroCopyStream(record, &input_, &clean_eof)) {
      ++count_;
      return true;
    }
    if (!clean_eof) {
      return absl::DataLossError(absl::StrCat("records of dataset ", text::Quote(id_),
                                              " are corrupt after record ", count_));
    }
    if (count_ != expected_count_) {
      return absl::DataLossError(absl::StrCat("records of dataset ", text::Quote(id_), " hold ",
                                              count_, " records, the manifest says ",
                                              expected_count_));
    }
    return false;
  }

 private:
  const std::string id_;
  google::protobuf::io::FileInputStream input_;
  const uint64_t expected_count_;
  uint64_t count_ = 0;
};

// Removes upload directory `dir` when its writer is gone and it is at least `min_age` old.
// True when it was removed.
bool RemoveIfAbandoned(const fs::path& dir, absl::Duration min_age) {
  struct stat info;
  if (::lstat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return false;
  const absl::Time modified = absl::TimeFromTimespec(info.st_mtim);
  if (absl::Now() - modified < min_age) return false;  // Maybe not locked yet.
  const std::string lock_path = (dir / kLockFile).string();
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (lock_fd < 0) {
    // No lock file in an old directory: its writer died before it made one (or a version
    // without locks left it). Anything else (EACCES, …) is left alone, and so is a directory
    // that is gone meanwhile (its writer committed it).
    if (errno != ENOENT) return false;
    if (::lstat(dir.c_str(), &info) != 0) return false;
  } else if (file::TryLockExclusive(lock_fd) != 0) {
    ::close(lock_fd);  // The writer is alive.
    return false;
  }
  // Holding the lock (or with no lock file): no writer can come back to this directory.
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (lock_fd >= 0) ::close(lock_fd);
  if (ec) {
    log::Warning("cannot remove abandoned upload ", dir.string(), ": ", ec.message());
    return false;
  }
  return true;
}

}  // namespace

FileRecordStore::FileRecordStore(const FileRecordStoreOptions& options)
    : data_dir_(options.data_dir),
      tmp_dir_(absl::StrCat(data_dir_, "/tmp")),
      datasets_dir_(absl::StrCat(data_dir_, "/datasets")),
      min_abandoned_age_(options.min_abandoned_age),
      sweep_interval_(options.sweep_interval) {}

FileRecordStore::~FileRecordStore() {
  if (!sweeper_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  sweeper_.join();
}

absl::StatusOr<std::unique_ptr<FileRecordStore>> FileRecordStore::Create(
    const FileRecordStoreOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data directory is empty");
  auto store = std::unique_ptr<FileRecordStore>(new FileRecordStore(options));
  for (const std::string& dir : {store->tmp_dir_, store->datasets_dir_}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  store->SweepAbandonedUploads();
  if (options.sweep_interval > absl::ZeroDuration()) {
    store->sweeper_ = std::thread([s = store.get()] { s->SweepLoop(); });
  }
  return store;
}

int FileRecordStore::SweepAbandonedUploads() {
  int removed = 0;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(tmp_dir_, ec)) {
    const fs::path& path = entry.path();
    if (path.filename().string().rfind(kUploadPrefix, 0) != 0) continue;
    if (!RemoveIfAbandoned(path, min_abandoned_age_)) continue;
    ++removed;
    log::Info("removed abandoned upload ", path.string());
  }
  if (ec) log::Warning("cannot list ", tmp_dir_, ": ", ec.message());
  return removed;
}

void FileRecordStore::SweepLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stop_), sweep_interval_)) return;
    }
    SweepAbandonedUploads();
  }
}

std::string FileRecordStore::DatasetDir(absl::string_view id) const {
  return absl::StrCat(datasets_dir_, "/", id);
}

absl::StatusOr<std::unique_ptr<RecordWriter>> FileRecordStore::NewWriter() {
  std::string dir = absl::StrCat(tmp_dir_, "/", kUploadPrefix, "XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    return ErrnoStatus(errno, absl::StrCat("cannot create an upload directory in ", tmp_dir_));
  }
  auto fail = [&dir](absl::Status status, int lock_fd) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (lock_fd >= 0) ::close(lock_fd);
    return status;
  };
  const std::string lock_path = absl::StrCat(dir, "/", kLockFile);
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (lock_fd < 0) return fail(ErrnoStatus(errno, absl::StrCat("create ", lock_path)), -1);
  if (const int error = file::TryLockExclusive(lock_fd); error != 0) {
    return fail(ErrnoStatus(error, absl::StrCat("lock ", lock_path)), lock_fd);
  }
  const std::string path = absl::StrCat(dir, "/", kRecordsFile);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return fail(ErrnoStatus(errno, absl::StrCat("create ", path)), lock_fd);
  return std::unique_ptr<RecordWriter>(
      new FileRecordWriter(std::move(dir), lock_fd, fd, datasets_dir_));
}

absl::StatusOr<std::unique_ptr<RecordReader>> FileRecordStore::Open(absl::string_view id) {
  absl::Status status = CheckId(id);
  if (!status.ok()) return status;
  const std::string dir = DatasetDir(id);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("records of dataset ", text::Quote(id), " not found"));
  }
  const std::string manifest_path = absl::StrCat(dir, "/", kManifestFile);
  std::ifstream manifest_file(manifest_path);
  if (!manifest_file) {
    return absl::DataLossError(
        absl::StrCat("dataset ", text::Quote(id), " has no readable manifest ", manifest_path));
  }
  std::stringstream manifest_text;
  manifest_text << manifest_file.rdbuf();
  nlohmann::json manifest = nlohmann::json::parse(manifest_text.str(), nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() || !manifest.contains("records_sha256") ||
      !manifest["records_sha256"].is_string() || !manifest.contains("record_count") ||
      !manifest["record_count"].is_number_unsigned()) {
    return absl::DataLossError(
        absl::StrCat("manifest of dataset ", text::Quote(id), " is corrupt"));
  }
  const std::string expected_sha = manifest["records_sha256"].get<std::string>();
  const uint64_t expected_count = manifest["record_count"].get<uint64_t>();

  const std::string path = absl::StrCat(dir, "/", kRecordsFile);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::DataLossError(absl::StrCat("records of dataset ", text::Quote(id),
                                            " cannot be opened: ", std::strerror(errno)));
  }
  eth::Sha256 sha;
  std::string buffer(kFlushBytes, '\0');
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    sha.Update(absl::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  const std::string actual_sha = sha.FinishHex();
  if (actual_sha != expected_sha) {
    ::close(fd);
    return absl::DataLossError(absl::StrCat("records of dataset ", text::Quote(id),
                                            " fail their integrity check: sha256 ", actual_sha,
                                            ", the manifest says ", expected_sha));
  }
  if (::lseek(fd, 0, SEEK_SET) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, absl::StrCat("seek ", path));
  }
  return std::unique_ptr<RecordReader>(
      new FileRecordReader(static_cast<std::string>(id), fd, expected_count));
}

absl::Status FileRecordStore::Remove(absl::string_view id) {
  absl::Status status = CheckId(id);
  if (!status.ok()) return status;
  std::error_code ec;
  fs::remove_all(DatasetDir(id), ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot remove ", DatasetDir(id), ": ", ec.message()));
  }
  return FsyncDir(datasets_dir_);
}

}  // namespace ethscan::dataset
