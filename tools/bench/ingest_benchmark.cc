// Microbenchmarks of the JSONL upload path without gRPC: JsonlMapper's fast and reference
// paths per line, and the whole IngestPipeline (hashing, splitting, mapping, record
// serialization) over a file in 1 MiB chunks. Bytes/s are of the JSONL input.
//
//   build-bench/bin/ethscan_ingest_benchmark [--benchmark_filter=...]
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "services/dataset/chat_format.h"
#include "services/dataset/ingest_pipeline.h"
#include "services/dataset/jsonl_mapper.h"

namespace ethscan::bench {
namespace {

// `count` export lines (without line breaks) about distinct synthetic addresses.
std::vector<std::string> ExportLines(int count) {
  std::vector<std::string> lines;
  for (int i = 0; i < count; ++i) {
    common::v1::AddressRecord record;
    record.set_address(absl::StrCat("0x", absl::Hex(0x8888801af4d98068ULL + i, absl::kZeroPad16),
                                    "2e47f1a9036e589479e835c5"));
    record.set_name(absl::StrCat("Uniswap V2: Router ", i));
    record.set_account_type(i % 2 == 0 ? "Smart Contract" : "EOA");
    record.set_contract_type(i % 2 == 0 ? "DEX" : "");
    record.set_entity("Uniswap");
    record.set_label(i % 3 == 0 ? "Phish / Hack" : "Legit");
    record.add_tags("DeFi");
    record.add_tags("Exchange");
    std::string line = dataset::ChatExampleLine(record);
    line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

void MapLines(benchmark::State& state, bool fast) {
  const std::vector<std::string> lines = ExportLines(1000);
  auto mapper = *dataset::JsonlMapper::Create(dataset::v1::DATASET_FORMAT_OPENAI_CHAT_JSONL,
                                              dataset::MapperContext{"bench", 1, "bench.jsonl"});
  dataset::LineResult result;
  int64_t bytes = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (fast) {
        mapper->Map(i + 1, lines[i], true, &result);
      } else {
        mapper->MapWithReferenceParser(i + 1, lines[i], true, &result);
      }
      if (result.records.size() != 1) state.SkipWithError("a line did not map");
      bytes += static_cast<int64_t>(lines[i].size() + 1);
    }
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
}

void BM_MapFastPath(benchmark::State& state) { MapLines(state, true); }
void BM_MapReferencePath(benchmark::State& state) { MapLines(state, false); }
BENCHMARK(BM_MapFastPath);
BENCHMARK(BM_MapReferencePath);

// Serializes every record as the file store does, without the disk.
class SerializingSink : public dataset::RecordSink {
 public:
  absl::Status Write(const common::v1::AddressRecord& record) override {
    record.AppendToString(&buffer_);
    if (buffer_.size() > (1 << 20)) buffer_.clear();
    return absl::OkStatus();
  }

 private:
  std::string buffer_;
};

void BM_IngestPipeline(benchmark::State& state) {
  std::string file;
  for (const std::string& line : ExportLines(20000)) absl::StrAppend(&file, line, "\n");
  constexpr size_t kChunk = 1 << 20;
  for (auto _ : state) {
    dataset::IngestOptions options;
    options.name = "bench";
    options.max_bytes = uint64_t{1} << 40;
    SerializingSink sink;
    dataset::IngestPipeline pipeline(options, &sink);
    for (size_t i = 0; i < file.size(); i += kChunk) {
      if (!pipeline.AddChunk(absl::string_view(file).substr(i, kChunk)).ok()) {
        state.SkipWithError("the pipeline rejected a chunk");
      }
    }
    if (!pipeline.Finish().ok()) state.SkipWithError("the pipeline rejected the file");
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(file.size()));
}
BENCHMARK(BM_IngestPipeline)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ethscan::bench

BENCHMARK_MAIN();
