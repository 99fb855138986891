// State shared by the XML walk (loader.cpp) and the cross-checks (validate.cpp). Internal to conf/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"

namespace icegate::conf {

// An ACL as read from XML, before its lookup structure is built.
struct AclDraft {
  std::string name;
  Location where;
  std::vector<acl::Entry> entries;
};

struct PolicyNames {
  std::optional<std::string> sip_inbound;
  std::optional<std::string> sip_register;
  std::optional<std::string> remote_candidates;
  std::optional<std::string> public_candidate;
};

struct LoaderState {
  Config cfg;
  std::vector<AclDraft> acl_drafts;
  PolicyNames policy_names;
  Location policy_where;
  Location registrar_where;
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;

  void error(Location where, std::string message) {
    errors.push_back({Severity::error, std::move(where), std::move(message)});
  }
  void warning(Location where, std::string message) {
    warnings.push_back({Severity::warning, std::move(where), std::move(message)});
  }
  bool has_errors() const { return !errors.empty(); }
};

// Cross-checks after every file was read: duplicates, references, ranges; builds the ACLs.
void validate(LoaderState& st);

}  // namespace icegate::conf
