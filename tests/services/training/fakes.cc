#include "tests/services/training/fakes.h"

#include <grpcpp/server_builder.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/text/quote.h"

namespace ethscan::training::testing {
namespace {

int64_t EventNumber(absl::string_view id) {
  int64_t n = 0;
  absl::SimpleAtoi(id.substr(0, id.find('-')), &n);
  return n;
}

absl::Status NotFound(absl::string_view what, absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(what, " ", text::Quote(id), " not found"));
}

}  // namespace

// ---- InMemoryJobStore ----

void InMemoryJobStore::AppendLocked(absl::string_view id, v1::JobEvent event) {
  event.set_id(absl::StrCat(next_event_++, "-0"));
  if (event.type().empty()) event.set_type("message");
  events_[std::string{id}].push_back(std::move(event));
}

std::vector<v1::JobEvent> InMemoryJobStore::EventsAfterLocked(absl::string_view id,
                                                              absl::string_view after,
                                                              int64_t limit) {
  std::vector<v1::JobEvent> out;
  auto it = events_.find(std::string{id});
  if (it == events_.end()) return out;
  int64_t from = after.empty() ? 0 : EventNumber(after);
  for (const v1::JobEvent& e : it->second) {
    if (EventNumber(e.id()) <= from) continue;
    out.push_back(e);
    if (limit > 0 && static_cast<int64_t>(out.size()) >= limit) break;
  }
  return out;
}

absl::Status InMemoryJobStore::Create(const v1::Job& job, const v1::JobEvent& event) {
  absl::MutexLock lock(&mu_);
  if (jobs_.count(job.id()) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("job \"", job.id(), "\" already exists"));
  }
  jobs_[job.id()] = job;
  order_.push_back(job.id());
  AppendLocked(job.id(), event);
  return absl::OkStatus();
}

absl::StatusOr<v1::Job> InMemoryJobStore::Get(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  if (get_failures_left_ > 0) {
    --get_failures_left_;
    return get_failure_;
  }
  auto it = jobs_.find(std::string{id});
  if (it == jobs_.end()) return NotFound("job", id);
  return it->second;
}

absl::Status InMemoryJobStore::Update(const v1::Job& expected, const v1::Job& job,
                                      const v1::JobEvent* event) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(job.id());
  if (it == jobs_.end()) return NotFound("job", job.id());
  if (it->second.status() != expected.status() || it->second.attempts() != expected.attempts()) {
    return absl::AbortedError(absl::StrCat("job \"", job.id(), "\" changed concurrently"));
  }
  it->second = job;
  if (event != nullptr) AppendLocked(job.id(), *event);
  return absl::OkStatus();
}

absl::Status InMemoryJobStore::Delete(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  if (jobs_.erase(std::string{id}) == 0) return NotFound("job", id);
  order_.erase(std::remove(order_.begin(), order_.end(), id), order_.end());
  events_.erase(std::string{id});
  return absl::OkStatus();
}

absl::Status InMemoryJobStore::AppendEvent(absl::string_view id, const v1::JobEvent& event) {
  return AppendEvents(id, {event});
}

absl::Status InMemoryJobStore::AppendEvents(absl::string_view id,
                                            const std::vector<v1::JobEvent>& events) {
  std::function<void(const v1::JobEvent&)> hook;
  {
    absl::MutexLock lock(&mu_);
    for (const v1::JobEvent& e : events) AppendLocked(id, e);
    if (events.size() > 1) ++batched_appends_;
    hook = on_append_;
  }
  if (hook) {
    for (const v1::JobEvent& e : events) hook(e);
  }
  return absl::OkStatus();
}

void InMemoryJobStore::OnAppend(std::function<void(const v1::JobEvent&)> hook) {
  absl::MutexLock lock(&mu_);
  on_append_ = std::move(hook);
}

int InMemoryJobStore::batched_appends() {
  absl::MutexLock lock(&mu_);
  return batched_appends_;
}

absl::StatusOr<JobPage> InMemoryJobStore::List(int64_t offset, int64_t limit) {
  absl::MutexLock lock(&mu_);
  JobPage page;
  page.total = static_cast<int64_t>(order_.size());
  for (int64_t i = page.total - 1 - offset; i >= 0 && limit > 0; --i, --limit) {
    page.jobs.push_back(jobs_[order_[i]]);
  }
  return page;
}

absl::StatusOr<std::optional<int64_t>> InMemoryJobStore::IndexOf(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = std::find(order_.begin(), order_.end(), id);
  if (it == order_.end()) return std::optional<int64_t>();
  return std::optional<int64_t>(static_cast<int64_t>(order_.end() - it) - 1);
}

absl::StatusOr<int64_t> InMemoryJobStore::QueuePosition(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(std::string{id});
  if (it == jobs_.end() || it->second.status() != v1::JOB_STATUS_QUEUED) return 0;
  int64_t position = 1;
  for (const std::string& other : order_) {
    if (other == id) break;
    if (jobs_[other].status() == v1::JOB_STATUS_QUEUED) ++position;
  }
  return position;
}

absl::StatusOr<std::optional<std::string>> InMemoryJobStore::ReserveIdempotencyKey(
    absl::string_view key, absl::string_view value, absl::Duration ttl) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = idempotency_.try_emplace(std::string{key}, std::string{value});
  if (inserted) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

absl::Status InMemoryJobStore::ReleaseIdempotencyKey(absl::string_view key,
                                                     absl::string_view value) {
  absl::MutexLock lock(&mu_);
  auto it = idempotency_.find(std::string{key});
  if (it != idempotency_.end() && it->second == value) idempotency_.erase(it);
  return absl::OkStatus();
}

absl::Status InMemoryJobStore::AddPendingRelease(absl::string_view job_id) {
  absl::MutexLock lock(&mu_);
  pending_releases_.insert(std::string{job_id});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> InMemoryJobStore::PendingReleases(int64_t limit) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const std::string& id : pending_releases_) {
    if (static_cast<int64_t>(out.size()) >= limit) break;
    out.push_back(id);
  }
  return out;
}

absl::Status InMemoryJobStore::RemovePendingRelease(absl::string_view job_id) {
  absl::MutexLock lock(&mu_);
  pending_releases_.erase(std::string{job_id});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::JobEvent>> InMemoryJobStore::ListEvents(absl::string_view id,
                                                                       absl::string_view after,
                                                                       int64_t limit) {
  if (!after.empty()) RETURN_IF_ERROR(ValidateEventId("after", after));
  absl::MutexLock lock(&mu_);
  return EventsAfterLocked(id, after, limit);
}

absl::StatusOr<std::vector<v1::JobEvent>> InMemoryJobStore::WaitForEvents(absl::string_view id,
                                                                          absl::string_view after,
                                                                          absl::Duration timeout) {
  if (!after.empty()) RETURN_IF_ERROR(ValidateEventId("after", after));
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !EventsAfterLocked(id, after, 1).empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  return EventsAfterLocked(id, after, 100);
}

void InMemoryJobStore::FailGets(absl::Status status, int count) {
  absl::MutexLock lock(&mu_);
  get_failure_ = std::move(status);
  get_failures_left_ = count;
}

std::vector<std::string> InMemoryJobStore::EventMessages(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const v1::JobEvent& e : events_[std::string{id}]) out.push_back(e.message());
  return out;
}

// ---- InMemoryJobQueue ----

void InMemoryJobQueue::FailEnqueues(absl::Status status) {
  absl::MutexLock lock(&mu_);
  enqueue_failure_ = std::move(status);
}

absl::StatusOr<std::string> InMemoryJobQueue::Enqueue(absl::string_view job_id) {
  absl::MutexLock lock(&mu_);
  if (!enqueue_failure_.ok()) return enqueue_failure_;
  QueueEntry entry{absl::StrCat(next_id_++, "-0"), std::string{job_id}};
  undelivered_.push_back(entry);
  return entry.entry_id;
}

absl::StatusOr<std::optional<QueueEntry>> InMemoryJobQueue::ClaimStale(absl::string_view consumer,
                                                                       absl::Duration min_idle) {
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_->Now();
  for (auto& [id, pending] : pending_) {
    if (now - pending.delivered < min_idle) continue;
    pending.consumer = std::string{consumer};
    pending.delivered = now;
    return std::optional<QueueEntry>(QueueEntry{id, pending.job_id});
  }
  return std::optional<QueueEntry>();
}

absl::StatusOr<std::optional<QueueEntry>> InMemoryJobQueue::ReadNew(absl::string_view consumer,
                                                                    absl::Duration block) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !undelivered_.empty(); };
  mu_.AwaitWithTimeout(absl::Condition(&ready), block);
  if (undelivered_.empty()) return std::optional<QueueEntry>();
  QueueEntry entry = undelivered_.front();
  undelivered_.pop_front();
  pending_[entry.entry_id] = {entry.job_id, std::string{consumer}, clock_->Now()};
  return std::optional<QueueEntry>(entry);
}

absl::Status InMemoryJobQueue::Heartbeat(absl::string_view consumer, absl::string_view entry_id) {
  absl::MutexLock lock(&mu_);
  ++heartbeats_;
  auto it = pending_.find(std::string{entry_id});
  if (it != pending_.end()) {
    it->second.consumer = std::string{consumer};
    it->second.delivered = clock_->Now();
  }
  return absl::OkStatus();
}

absl::Status InMemoryJobQueue::Ack(absl::string_view entry_id) {
  absl::MutexLock lock(&mu_);
  pending_.erase(std::string{entry_id});
  return absl::OkStatus();
}

absl::Status InMemoryJobQueue::DeadLetter(absl::string_view job_id, absl::string_view reason,
                                          int attempts) {
  absl::MutexLock lock(&mu_);
  dead_.push_back(
      {std::string{job_id}, std::string{reason}, attempts, absl::StrCat(dead_.size() + 1, "-0")});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DeadLetterRecord>> InMemoryJobQueue::ListDeadLetters(
    absl::string_view before, int64_t limit) {
  absl::MutexLock lock(&mu_);
  std::vector<DeadLetterRecord> out;
  bool past = before.empty();
  for (auto it = dead_.rbegin(); it != dead_.rend(); ++it) {
    if (!past) {
      past = it->id == before;
      continue;
    }
    if (static_cast<int64_t>(out.size()) >= limit) break;
    out.push_back(*it);
  }
  return out;
}

absl::Status InMemoryJobQueue::RetryLater(absl::string_view entry_id, absl::string_view job_id,
                                          absl::Time at) {
  absl::MutexLock lock(&mu_);
  pending_.erase(std::string{entry_id});
  retries_[std::string{job_id}] = at;
  return absl::OkStatus();
}

absl::StatusOr<int> InMemoryJobQueue::PromoteDue(absl::Time now) {
  absl::MutexLock lock(&mu_);
  int moved = 0;
  for (auto it = retries_.begin(); it != retries_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    undelivered_.push_back(QueueEntry{absl::StrCat(next_id_++, "-0"), it->first});
    it = retries_.erase(it);
    ++moved;
  }
  return moved;
}

std::map<std::string, absl::Time> InMemoryJobQueue::Retries() {
  absl::MutexLock lock(&mu_);
  return retries_;
}

std::map<std::string, std::string> InMemoryJobQueue::Pending() {
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::string> out;
  for (const auto& [id, p] : pending_) out[id] = p.consumer;
  return out;
}

size_t InMemoryJobQueue::Undelivered() {
  absl::MutexLock lock(&mu_);
  return undelivered_.size();
}

std::vector<InMemoryJobQueue::DeadLetterEntry> InMemoryJobQueue::DeadLetters() {
  absl::MutexLock lock(&mu_);
  return dead_;
}

int InMemoryJobQueue::heartbeats() {
  absl::MutexLock lock(&mu_);
  return heartbeats_;
}

// ---- InMemoryModelStore ----

v1::Model InMemoryModelStore::WithAliasesLocked(v1::Model model) {
  model.clear_aliases();
  for (const auto& [alias, target] : aliases_) {
    if (target == model.name()) model.add_aliases(alias);
  }
  return model;
}

absl::Status InMemoryModelStore::Put(const v1::Model& model) {
  absl::MutexLock lock(&mu_);
  models_[model.name()] = model;
  return absl::OkStatus();
}

absl::StatusOr<PublishClaim> InMemoryModelStore::ClaimPublish(absl::string_view name,
                                                              const PublishFence& fence,
                                                              absl::string_view token,
                                                              absl::Duration ttl) {
  absl::MutexLock lock(&mu_);
  if (models_.count(std::string{name}) > 0) return PublishClaim::kPublished;
  if (fence_check_ && !fence_check_(fence)) return PublishClaim::kFenced;
  auto [it, inserted] = claims_.try_emplace(std::string{name}, std::string{token});
  if (!inserted && it->second != token) return PublishClaim::kBusy;
  return PublishClaim::kGranted;
}

absl::Status InMemoryModelStore::PutClaimed(const v1::Model& model, const PublishFence& fence,
                                            absl::string_view token) {
  absl::MutexLock lock(&mu_);
  auto it = claims_.find(model.name());
  if (it == claims_.end() || it->second != token) {
    return absl::AbortedError("the claim to publish expired");
  }
  claims_.erase(it);
  if (fence_check_ && !fence_check_(fence)) return absl::AbortedError("fenced");
  models_[model.name()] = model;
  return absl::OkStatus();
}

absl::Status InMemoryModelStore::ReleaseClaim(absl::string_view name, absl::string_view token) {
  absl::MutexLock lock(&mu_);
  auto it = claims_.find(std::string{name});
  if (it != claims_.end() && it->second == token) claims_.erase(it);
  return absl::OkStatus();
}

void InMemoryModelStore::SetFenceCheck(std::function<bool(const PublishFence&)> check) {
  absl::MutexLock lock(&mu_);
  fence_check_ = std::move(check);
}

absl::StatusOr<v1::Model> InMemoryModelStore::Get(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  auto it = models_.find(std::string{name});
  if (it == models_.end()) {
    auto checkpoint = checkpoints_.find(std::string{name});
    if (checkpoint == checkpoints_.end()) return NotFound("model", name);
    return WithAliasesLocked(checkpoint->second);
  }
  return WithAliasesLocked(it->second);
}

absl::StatusOr<std::optional<std::string>> InMemoryModelStore::GetAlias(absl::string_view alias) {
  absl::MutexLock lock(&mu_);
  auto it = aliases_.find(std::string{alias});
  if (it == aliases_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

absl::StatusOr<ModelPage> InMemoryModelStore::List(int64_t offset, int64_t limit) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Model> all;
  for (const auto& [name, m] : models_) all.push_back(WithAliasesLocked(m));
  std::stable_sort(all.begin(), all.end(), [](const v1::Model& a, const v1::Model& b) {
    return std::make_pair(a.create_time().seconds(), a.create_time().nanos()) >
           std::make_pair(b.create_time().seconds(), b.create_time().nanos());
  });
  ModelPage page;
  page.total = static_cast<int64_t>(all.size());
  for (int64_t i = offset; i < page.total && i < offset + limit; ++i) page.models.push_back(all[i]);
  return page;
}

absl::Status InMemoryModelStore::SetAlias(absl::string_view alias, absl::string_view name) {
  absl::MutexLock lock(&mu_);
  if (models_.count(std::string{name}) == 0 && checkpoints_.count(std::string{name}) == 0) {
    return NotFound("model", name);
  }
  auto before = aliases_.find(std::string{alias});
  if (before != aliases_.end() && before->second != name) {
    std::vector<std::string>& history = alias_history_[std::string{alias}];
    history.insert(history.begin(), before->second);
    if (history.size() > static_cast<size_t>(kAliasHistoryKept)) history.resize(kAliasHistoryKept);
  }
  aliases_[std::string{alias}] = std::string{name};
  return absl::OkStatus();
}

absl::StatusOr<std::string> InMemoryModelStore::RollbackAlias(absl::string_view alias) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string>& history = alias_history_[std::string{alias}];
  while (!history.empty()) {
    std::string previous = history.front();
    history.erase(history.begin());
    if (models_.count(previous) > 0) {
      aliases_[std::string{alias}] = previous;
      return previous;
    }
  }
  return absl::NotFoundError(absl::StrCat("alias \"", alias, "\" has no earlier model"));
}

absl::Status InMemoryModelStore::DeleteAlias(absl::string_view alias) {
  absl::MutexLock lock(&mu_);
  if (aliases_.erase(std::string{alias}) == 0) return NotFound("alias", alias);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> InMemoryModelStore::AliasHistory(absl::string_view alias) {
  absl::MutexLock lock(&mu_);
  auto it = alias_history_.find(std::string{alias});
  return it == alias_history_.end() ? std::vector<std::string>() : it->second;
}

absl::Status InMemoryModelStore::Delete(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  if (models_.count(std::string{name}) == 0) return NotFound("model", name);
  for (const auto& [alias, target] : aliases_) {
    if (target == name) {
      return absl::FailedPreconditionError(
          absl::StrCat("model \"", name, "\" is kept: alias \"", alias, "\" points at it"));
    }
  }
  models_.erase(std::string{name});
  return absl::OkStatus();
}

void InMemoryModelStore::OnPutCheckpoint(std::function<void(int step)> hook) {
  absl::MutexLock lock(&mu_);
  on_put_checkpoint_ = std::move(hook);
}

absl::Status InMemoryModelStore::PutCheckpoint(const v1::Model& model, int step) {
  std::function<void(int)> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = on_put_checkpoint_;
  }
  if (hook) hook(step);
  absl::MutexLock lock(&mu_);
  checkpoints_[model.name()] = model;
  job_checkpoints_[model.job_id()][step] = model.name();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Model>> InMemoryModelStore::ListCheckpoints(
    absl::string_view job_id) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Model> out;
  auto job = job_checkpoints_.find(std::string{job_id});
  if (job == job_checkpoints_.end()) return out;
  for (const auto& [step, name] : job->second) {
    auto it = checkpoints_.find(name);
    if (it != checkpoints_.end()) out.push_back(WithAliasesLocked(it->second));
  }
  return out;
}

absl::Status InMemoryModelStore::DeleteCheckpoint(absl::string_view job_id,
                                                  absl::string_view name) {
  absl::MutexLock lock(&mu_);
  auto job = job_checkpoints_.find(std::string{job_id});
  if (job != job_checkpoints_.end()) {
    for (auto it = job->second.begin(); it != job->second.end();) {
      it = it->second == name ? job->second.erase(it) : std::next(it);
    }
  }
  if (checkpoints_.erase(std::string{name}) == 0) return NotFound("model", name);
  for (auto it = aliases_.begin(); it != aliases_.end();) {
    it = it->second == name ? aliases_.erase(it) : std::next(it);
  }
  return absl::OkStatus();
}

// ---- FakeDatasetService ----

void FakeDatasetService::Add(dataset::v1::Dataset dataset,
                             std::vector<common::v1::AddressRecord> records) {
  absl::MutexLock lock(&mu_);
  dataset.set_record_count(records.size());
  std::string id = dataset.id();
  datasets_[id] = {std::move(dataset), std::move(records)};
}

absl::Status FakeDatasetService::Remove(const std::string& id) {
  absl::MutexLock lock(&mu_);
  if (datasets_.count(id) == 0) return NotFound("dataset", id);
  auto held = holders_.find(id);
  if (held != holders_.end() && !held->second.empty()) {
    std::string holders;
    for (const std::string& h : held->second)
      absl::StrAppend(&holders, holders.empty() ? "" : ", ", h);
    return absl::FailedPreconditionError(
        absl::StrCat("dataset \"", id, "\" is still referenced by ", holders));
  }
  datasets_.erase(id);
  holders_.erase(id);
  return absl::OkStatus();
}

std::vector<std::string> FakeDatasetService::Holders(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = holders_.find(id);
  if (it == holders_.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

void FakeDatasetService::FailAddReferences(grpc::StatusCode code) {
  absl::MutexLock lock(&mu_);
  add_reference_failure_ = code;
}

void FakeDatasetService::FailAddReferencesFor(const std::string& id, grpc::StatusCode code) {
  absl::MutexLock lock(&mu_);
  add_reference_failures_[id] = code;
}

void FakeDatasetService::FailRemoveReferences(grpc::StatusCode code) {
  absl::MutexLock lock(&mu_);
  remove_reference_failure_ = code;
}

dataset::v1::Dataset FakeDatasetService::WithHoldersLocked(const std::string& id) {
  dataset::v1::Dataset dataset = datasets_.at(id).dataset;
  dataset.clear_referenced_by();
  auto it = holders_.find(id);
  if (it != holders_.end()) {
    for (const std::string& h : it->second) dataset.add_referenced_by(h);
  }
  return dataset;
}

grpc::Status FakeDatasetService::AddDatasetReference(
    grpc::ServerContext* context, const dataset::v1::DatasetReferenceRequest* request,
    dataset::v1::DatasetReferenceResponse* response) {
  absl::MutexLock lock(&mu_);
  if (add_reference_failure_ != grpc::StatusCode::OK) {
    return grpc::Status(add_reference_failure_, "injected failure");
  }
  if (auto it = add_reference_failures_.find(request->id());
      it != add_reference_failures_.end() && it->second != grpc::StatusCode::OK) {
    return grpc::Status(it->second, "injected failure");
  }
  if (request->holder().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "holder is required");
  }
  if (datasets_.count(request->id()) == 0) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("dataset \"", request->id(), "\" not found"));
  }
  holders_[request->id()].insert(request->holder());
  *response->mutable_dataset() = WithHoldersLocked(request->id());
  return grpc::Status::OK;
}

grpc::Status FakeDatasetService::RemoveDatasetReference(
    grpc::ServerContext* context, const dataset::v1::DatasetReferenceRequest* request,
    dataset::v1::DatasetReferenceResponse* response) {
  absl::MutexLock lock(&mu_);
  if (remove_reference_failure_ != grpc::StatusCode::OK) {
    return grpc::Status(remove_reference_failure_, "injected failure");
  }
  if (datasets_.count(request->id()) == 0) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("dataset \"", request->id(), "\" not found"));
  }
  auto it = holders_.find(request->id());
  if (it != holders_.end()) {
    it->second.erase(request->holder());
    if (it->second.empty()) holders_.erase(it);
  }
  *response->mutable_dataset() = WithHoldersLocked(request->id());
  return grpc::Status::OK;
}

void FakeDatasetService::FailReads(const std::string& id, grpc::StatusCode code, int count) {
  absl::MutexLock lock(&mu_);
  read_failures_[id] = {code, count};
}

void FakeDatasetService::FailGets(grpc::StatusCode code) {
  absl::MutexLock lock(&mu_);
  get_failure_ = code;
}

int FakeDatasetService::read_calls() {
  absl::MutexLock lock(&mu_);
  return read_calls_;
}

void FakeDatasetService::OnBatch(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  on_batch_ = std::move(hook);
}

grpc::Status FakeDatasetService::GetDataset(grpc::ServerContext* context,
                                            const dataset::v1::GetDatasetRequest* request,
                                            dataset::v1::GetDatasetResponse* response) {
  absl::MutexLock lock(&mu_);
  if (get_failure_ != grpc::StatusCode::OK) return grpc::Status(get_failure_, "injected failure");
  auto it = datasets_.find(request->id());
  if (it == datasets_.end()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("dataset \"", request->id(), "\" not found"));
  }
  *response->mutable_dataset() = WithHoldersLocked(request->id());
  return grpc::Status::OK;
}

grpc::Status FakeDatasetService::ReadRecords(
    grpc::ServerContext* context, const dataset::v1::ReadRecordsRequest* request,
    grpc::ServerWriter<dataset::v1::ReadRecordsResponse>* writer) {
  std::vector<common::v1::AddressRecord> records;
  std::pair<grpc::StatusCode, int> failure = {grpc::StatusCode::OK, 0};
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    ++read_calls_;
    auto it = datasets_.find(request->id());
    if (it == datasets_.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("dataset \"", request->id(), "\" not found"));
    }
    records = it->second.records;
    auto f = read_failures_.find(request->id());
    if (f != read_failures_.end() && f->second.second > 0) {
      failure = f->second;
      --f->second.second;
    }
    hook = on_batch_;
  }
  size_t batch = request->batch_size() > 0 ? static_cast<size_t>(request->batch_size()) : 1000;
  for (size_t i = 0; i < records.size() || i == 0; i += batch) {
    if (hook) hook();
    dataset::v1::ReadRecordsResponse response;
    for (size_t j = i; j < std::min(records.size(), i + batch); ++j) {
      *response.add_records() = records[j];
    }
    if (!writer->Write(response)) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
    if (failure.first != grpc::StatusCode::OK)
      return grpc::Status(failure.first, "injected failure");
    if (records.empty()) break;
  }
  return grpc::Status::OK;
}

// ---- InProcessServer ----

InProcessServer::InProcessServer(const std::vector<grpc::Service*>& services) {
  grpc::ServerBuilder builder;
  for (grpc::Service* s : services) builder.RegisterService(s);
  server_ = builder.BuildAndStart();
  channel_ = server_->InProcessChannel(grpc::ChannelArguments());
}

InProcessServer::~InProcessServer() { Shutdown(); }

void InProcessServer::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
  });
}

// ---- Builders ----

dataset::v1::Dataset MakeDataset(const std::string& id, const std::string& name,
                                 dataset::v1::DatasetFormat format, int64_t create_seconds) {
  dataset::v1::Dataset d;
  d.set_id(id);
  d.set_name(name);
  d.set_format(format);
  d.set_chain_id(1);
  d.mutable_create_time()->set_seconds(create_seconds);
  return d;
}

common::v1::AddressRecord MakeRecord(const std::string& address, const std::string& label,
                                     const std::string& name, std::vector<std::string> tags) {
  common::v1::AddressRecord r;
  r.set_address(address);
  r.set_chain_id(1);
  r.set_label(label);
  r.set_name(name);
  for (std::string& t : tags) r.add_tags(std::move(t));
  return r;
}

}  // namespace ethscan::training::testing
