// Small hand-built knowledge entries for inference tests.
#ifndef ETHSCAN_TESTS_SERVICES_INFERENCE_KNOWLEDGE_FIXTURE_H_
#define ETHSCAN_TESTS_SERVICES_INFERENCE_KNOWLEDGE_FIXTURE_H_

#include <string>
#include <vector>

#include "ethscan/model/v1/model.pb.h"

namespace ethscan::inference::testing {

// A claim of dataset `source`; `format` is its DatasetFormat value name
// ("DATASET_FORMAT_OFAC_SDN"), which sets its authority under the conflict policy.
inline model::v1::SourceClaim Claim(const std::string& source, const std::string& address,
                                    const std::string& label, const std::string& name = "",
                                    const std::string& original_label = "",
                                    const std::string& format = "") {
  model::v1::SourceClaim claim;
  claim.set_source(source);
  claim.set_dataset_format(format);
  common::v1::AddressRecord* r = claim.mutable_record();
  r->set_address(address);
  r->set_chain_id(1);
  r->set_label(label);
  r->set_name(name);
  r->set_original_label(original_label);
  r->set_source(source);
  return claim;
}

// UNI token: Legit, Smart Contract, Token, from one source.
inline model::v1::KnowledgeEntry UniswapEntry() {
  model::v1::KnowledgeEntry e;
  common::v1::AddressRecord* m = e.mutable_merged();
  m->set_address("0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984");
  m->set_chain_id(1);
  m->set_name("Uniswap (UNI)");
  m->set_account_type("Smart Contract");
  m->set_contract_type("Token");
  m->set_label("Legit");
  m->add_tags("Token Contract");
  m->set_source("uniswap_tokens");
  *e.add_claims() = Claim("uniswap_tokens", m->address(), "Legit", "Uniswap (UNI)",
                          "uniswap-default-list", "DATASET_FORMAT_UNISWAP_TOKENS");
  for (const char* f : {"name", "account_type", "contract_type", "label", "tags"}) {
    (*e.mutable_field_sources())[f] = "uniswap_tokens";
  }
  return e;
}

// An OFAC-listed address also tagged by another source that says Legit (overruled) and names it
// differently (overruled by source authority), with the conflict notes the knowledge builder
// writes for it.
inline model::v1::KnowledgeEntry SanctionedEntry() {
  model::v1::KnowledgeEntry e;
  common::v1::AddressRecord* m = e.mutable_merged();
  m->set_address("0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
  m->set_chain_id(1);
  m->set_name("LAZARUS GROUP");
  m->set_entity("LAZARUS GROUP");
  m->set_label("Sanctioned");
  m->set_source("ofac_sdn");
  *e.add_claims() = Claim("ofac_sdn", m->address(), "Sanctioned", "LAZARUS GROUP", "listed",
                          "DATASET_FORMAT_OFAC_SDN");
  *e.add_claims() = Claim("etherscan_labels", m->address(), "Legit", "Ronin Bridge Exploiter", "",
                          "DATASET_FORMAT_ETHERSCAN_LABELS");
  (*e.mutable_field_sources())["label"] = "ofac_sdn";
  (*e.mutable_field_sources())["name"] = "ofac_sdn";
  e.add_conflicts("label: Sanctioned (ofac_sdn) vs Legit (etherscan_labels) → Sanctioned");
  e.add_conflicts(
      "name: \"LAZARUS GROUP\" (ofac_sdn) vs \"Ronin Bridge Exploiter\" (etherscan_labels) → "
      "\"LAZARUS GROUP\"");
  return e;
}

}  // namespace ethscan::inference::testing

#endif  // ETHSCAN_TESTS_SERVICES_INFERENCE_KNOWLEDGE_FIXTURE_H_
