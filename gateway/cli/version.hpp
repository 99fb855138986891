// `icegate --version`: the program's version and the versions of the libraries it runs on.
#pragma once

#include <iosfwd>

namespace icegate::gateway {

// Writes one line per component: icegate, Sofia-SIP, OpenSSL (run time and build time) and
// libsrtp2 with the crypto library behind its AES counter mode, which decides whether the SRTP
// fast path (libsrtp2 on OpenSSL, tools/build-libsrtp) is in use.
void print_version(std::ostream& out);

}  // namespace icegate::gateway
