// The requests the STUN client engines send and the fields they read from the answers.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "acl/expected.hpp"
#include "media/endpoint.hpp"
#include "media/stun/attributes.hpp"
#include "media/stun/message.hpp"

namespace icegate::media::stunclient {

// RFC 5780 §7.5 RESPONSE-PORT: not in the shared codec's table, so it is built here.
inline constexpr std::uint16_t kAttrResponsePort = 0x0027;

// A Binding request with FINGERPRINT; CHANGE-REQUEST (RFC 5780 §7.2) and RESPONSE-PORT when given.
std::vector<std::byte> binding_request(const stun::TransactionId& tid,
                                       std::optional<stun::ChangeRequest> change = std::nullopt,
                                       std::optional<std::uint16_t> response_port = std::nullopt);

// Parses a datagram as STUN; nullopt for anything else (the caller counts it as dropped).
std::optional<stun::Message> parse_stun(std::span<const std::byte> bytes);

// XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from an RFC 3489 server (RFC 5389 §15.1 and §12).
Expected<Endpoint, std::string> mapped_address(const stun::Message& m);
// An optional address attribute (OTHER-ADDRESS, RESPONSE-ORIGIN, XOR-RELAYED-ADDRESS, ...).
std::optional<Endpoint> address_attribute(const stun::Message& m, std::uint16_t type);
// An optional text attribute (REALM, NONCE, SOFTWARE).
std::optional<std::string> text_attribute(const stun::Message& m, std::uint16_t type);

}  // namespace icegate::media::stunclient
