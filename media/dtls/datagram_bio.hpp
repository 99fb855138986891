// The engine's outgoing BIO. OpenSSL's DTLS writes each datagram with one BIO_write; a plain
// memory BIO would glue consecutive datagrams together, so this one is a memory sink that keeps
// the boundaries: every write becomes one datagram handed to a callback. No socket anywhere.
#pragma once

#include <cstddef>
#include <span>

#include "media/dtls/ossl.hpp"

namespace icegate::media::dtls {

class DatagramSink {
 public:
  virtual ~DatagramSink() = default;
  virtual void on_datagram_out(std::span<const std::byte> datagram) = 0;
};

// A new BIO that delivers writes to `sink` (not owned; must outlive the BIO's use). Reads fail.
ossl::BioPtr make_datagram_bio(DatagramSink* sink);

}  // namespace icegate::media::dtls
