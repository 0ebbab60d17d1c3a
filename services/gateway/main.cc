// ethscan_gateway: the public scan API.
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/config/config.h"
#include "common/config/usage.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "common/log/log.h"
#include "services/gateway/scan_service.h"

ABSL_FLAG(std::string, listen, "", "HOST:PORT to listen on (env ETHSCAN_GATEWAY_LISTEN)");
ABSL_FLAG(std::string, shutdown_deadline, "10s", "Grace period for in-flight calls on SIGTERM");
ABSL_FLAG(std::string, inference_addr, "", "Inference HOST:PORT (env ETHSCAN_INFERENCE_ADDR)");
ABSL_FLAG(std::string, enrichment_addr, "", "Enrichment HOST:PORT (env ETHSCAN_ENRICHMENT_ADDR)");
ABSL_FLAG(std::string, enrichment_deadline, "2s", "Deadline of the enrichment call per scan");
ABSL_FLAG(std::string, predict_deadline, "30s", "Deadline of the inference call per scan");
ABSL_FLAG(std::string, enrichment_recheck, "30s",
          "How long an enrichment service without a chain data source is not asked again (0s: "
          "ask on every scan)");

int main(int argc, char** argv) {
  namespace es = ethscan;
  es::common::BlockTerminationSignals();
  ethscan::config::InitUsage(
      "ethscan_gateway [--listen=HOST:PORT] …: the public gateway (ScanAddress; proxies the other "
      "services).");
  absl::ParseCommandLine(argc, argv);
  es::log::SetComponent("gateway");
  auto options = es::common::ServerOptionsFromFlags(
      absl::GetFlag(FLAGS_listen), "ETHSCAN_GATEWAY_LISTEN", es::config::kGatewayPort,
      absl::GetFlag(FLAGS_shutdown_deadline));
  auto enrichment_deadline = es::config::ParseDurationFlag(absl::GetFlag(FLAGS_enrichment_deadline),
                                                           "--enrichment_deadline");
  auto predict_deadline =
      es::config::ParseDurationFlag(absl::GetFlag(FLAGS_predict_deadline), "--predict_deadline");
  auto enrichment_recheck = es::config::ParseDurationFlag(absl::GetFlag(FLAGS_enrichment_recheck),
                                                          "--enrichment_recheck");
  for (const absl::Status& s : {options.status(), enrichment_deadline.status(),
                                predict_deadline.status(), enrichment_recheck.status()}) {
    if (!s.ok()) {
      es::log::Error(s.message());
      return 2;
    }
  }
  es::config::ServiceTargets targets = es::config::ServiceTargets::FromEnv();
  std::string inference = es::config::FlagOrEnv(absl::GetFlag(FLAGS_inference_addr),
                                                "ETHSCAN_INFERENCE_ADDR", targets.inference);
  std::string enrichment = es::config::FlagOrEnv(absl::GetFlag(FLAGS_enrichment_addr),
                                                 "ETHSCAN_ENRICHMENT_ADDR", targets.enrichment);
  es::gateway::Scanner::Options scanner_options;
  scanner_options.enrichment_timeout = *enrichment_deadline;
  scanner_options.predict_timeout = *predict_deadline;
  scanner_options.not_configured_recheck = *enrichment_recheck;
  es::gateway::Scanner scanner(
      es::inference::v1::InferenceService::NewStub(es::common::CreateChannel(inference)),
      es::enrichment::v1::EnrichmentService::NewStub(es::common::CreateChannel(enrichment)),
      scanner_options);
  es::gateway::ScanServiceImpl service(&scanner);
  es::log::Info("inference at ", inference, ", enrichment at ", enrichment);
  options->readiness_services = {es::gateway::v1::ScanService::service_full_name()};
  absl::Status status = es::common::RunServer(*options, {&service});
  if (!status.ok()) {
    es::log::Error(status.message());
    return 1;
  }
  return 0;
}
