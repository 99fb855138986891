// `icegate passwd [-c FILE | --realm REALM] USER`: the digest hashes of a user's password for
// <user ha1="..." ha1-sha256="..."/> (docs/security.md), so the XML need not hold the password.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace icegate::gateway {

int cmd_passwd(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// The same with the password read from `in` (a terminal: prompted twice, not echoed).
int passwd_from(const std::vector<std::string>& args, std::istream& in, bool terminal,
                std::ostream& out, std::ostream& err);

}  // namespace icegate::gateway
