#include "media/dtls/datagram_bio.hpp"

namespace icegate::media::dtls {
namespace {

int dgram_write(BIO* bio, const char* data, int len) {
  auto* sink = static_cast<DatagramSink*>(BIO_get_data(bio));
  if (len < 0) return -1;
  if (sink != nullptr) {
    sink->on_datagram_out(std::span<const std::byte>(reinterpret_cast<const std::byte*>(data),
                                                     static_cast<std::size_t>(len)));
  }
  return len;  // a datagram socket never writes half a datagram
}

long dgram_ctrl(BIO* /*bio*/, int cmd, long /*larg*/, void* /*parg*/) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
      return 0;  // nothing is ever buffered here
    default:
      return 0;  // MTU queries are off (SSL_OP_NO_QUERY_MTU)
  }
}

int dgram_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* method() {
  // Built once per process; BIO_METHODs are read-only after construction and shared by threads.
  static const ossl::BioMethodPtr m = [] {
    ossl::BioMethodPtr p(
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "icegate datagram sink"));
    if (p) {
      BIO_meth_set_write(p.get(), dgram_write);
      BIO_meth_set_ctrl(p.get(), dgram_ctrl);
      BIO_meth_set_create(p.get(), dgram_create);
    }
    return p;
  }();
  return m.get();
}

}  // namespace

ossl::BioPtr make_datagram_bio(DatagramSink* sink) {
  const BIO_METHOD* m = method();
  if (m == nullptr) return nullptr;
  ossl::BioPtr bio(BIO_new(m));
  if (bio) BIO_set_data(bio.get(), sink);
  return bio;
}

}  // namespace icegate::media::dtls
