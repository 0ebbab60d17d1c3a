// Small hand-built knowledge entries for inference tests.
#ifndef ETHSCAN_TESTS_SERVICES_INFERENCE_KNOWLEDGE_FIXTURE_H_
#define ETHSCAN_TESTS_SERVICES_INFERENCE_KNOWLEDGE_FIXTURE_H_

#include <string>
#include <vector>

#include "ethscan/training/v1/knowledge_model.pb.h"

namespace ethscan::inference::testing {

inline training::v1::SourceClaim Claim(const std::string& source, const std::string& address,
                                       const std::string& label, const std::string& name = "",
                                       const std::string& original_label = "") {
  training::v1::SourceClaim claim;
  claim.set_source(source);
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
inline training::v1::KnowledgeEntry UniswapEntry() {
  training::v1::KnowledgeEntry e;
  common::v1::AddressRecord* m = e.mutable_merged();
  m->set_address("0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984");
  m->set_chain_id(1);
  m->set_name("Uniswap (UNI)");
  m->set_account_type("Smart Contract");
  m->set_contract_type("Token");
  m->set_label("Legit");
  m->add_tags("Token Contract");
  m->set_source("uniswap_tokens");
  *e.add_claims() =
      Claim("uniswap_tokens", m->address(), "Legit", "Uniswap (UNI)", "uniswap-default-list");
  for (const char* f : {"name", "account_type", "contract_type", "label", "tags"}) {
    (*e.mutable_field_sources())[f] = "uniswap_tokens";
  }
  return e;
}

// An OFAC-listed address also tagged by another source that says Legit (overruled).
inline training::v1::KnowledgeEntry SanctionedEntry() {
  training::v1::KnowledgeEntry e;
  common::v1::AddressRecord* m = e.mutable_merged();
  m->set_address("0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
  m->set_chain_id(1);
  m->set_name("LAZARUS GROUP");
  m->set_entity("LAZARUS GROUP");
  m->set_label("Sanctioned");
  m->set_source("ofac_sdn");
  *e.add_claims() = Claim("ofac_sdn", m->address(), "Sanctioned", "LAZARUS GROUP", "listed");
  *e.add_claims() = Claim("etherscan_labels", m->address(), "Legit", "Ronin Bridge Exploiter");
  (*e.mutable_field_sources())["label"] = "ofac_sdn";
  (*e.mutable_field_sources())["name"] = "ofac_sdn";
  e.add_conflicts("label: Legit (etherscan_labels) vs Sanctioned (ofac_sdn) → Sanctioned");
  return e;
}

}  // namespace ethscan::inference::testing

#endif  // ETHSCAN_TESTS_SERVICES_INFERENCE_KNOWLEDGE_FIXTURE_H_
