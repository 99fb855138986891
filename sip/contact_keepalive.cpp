// NAT keep-alive toward registered UDP contacts: an OPTIONS request through each phone's NAT
// binding every <registrar keepalive> (Kamailio nathelper, FreeSWITCH nat-options-ping and
// Asterisk qualify do the same). Any answer, even an error, proves the path; a contact that
// leaves <registrar keepalive-misses> in a row unanswered is logged and removed.
#include <set>

#include "sip/b2bua.hpp"
#include "sip/log.hpp"

namespace icegate::sip {
namespace {

void on_timer(Stack* /*s*/, su_timer_t* /*t*/, su_timer_arg_t* arg) {
  reinterpret_cast<B2bua*>(arg)->on_keepalive_timer();
}

}  // namespace

void B2bua::start_contact_keepalive() {
  keepalive_timer_.reset();
  const auto interval = cfg_->sip.registrar.keepalive;
  if (interval.count() == 0 || stopping_) return;
  keepalive_timer_.reset(su_timer_create(su_root_task(stack_.root()), 0));
  su_timer_set_interval(keepalive_timer_.get(), on_timer, reinterpret_cast<su_timer_arg_t*>(this),
                        static_cast<su_duration_t>(interval.count()));
}

void B2bua::contact_keepalive_tick() {
  if (stopping_) return;
  const auto now = Registrar::Clock::now();
  registrar_.expire(now);
  std::set<std::pair<std::string, std::string>> live;
  for (const auto& b : registrar_.all(now)) {
    if (b.transport != conf::Transport::udp) continue;  // TCP/TLS: the connection is the path
    const auto key = std::pair{b.user, b.contact};
    live.insert(key);
    ContactKeepalive& k = keepalives_[key];
    k.user = b.user;
    k.contact = b.contact;
    k.where = b.source.to_string() + ":" + std::to_string(b.source_port);
    if (k.pending) continue;  // the last OPTIONS is still running
    Profile* p = stack_.profile_named(b.profile);
    if (!p) p = stack_.profile_for(conf::Transport::udp);
    if (!p) continue;
    k.pending = Handle(nua_handle(p->nua, nullptr, SIPTAG_TO_STR(b.route_uri.c_str()), TAG_END()));
    nua_options(k.pending.get(), NUTAG_URL(b.route_uri.c_str()), TAG_END());
    keepalive_by_handle_[k.pending.get()] = key;
  }
  // Bindings that expired or were removed take their keep-alive (and its handle) with them.
  for (auto it = keepalives_.begin(); it != keepalives_.end();) {
    if (live.count(it->first)) {
      ++it;
      continue;
    }
    if (it->second.pending) keepalive_by_handle_.erase(it->second.pending.get());
    it = keepalives_.erase(it);
  }
  start_contact_keepalive();
}

void B2bua::on_contact_keepalive_response(nua_handle_t* nh, int status) {
  auto h = keepalive_by_handle_.find(nh);
  if (h == keepalive_by_handle_.end() || status < 200) return;
  const auto key = h->second;
  keepalive_by_handle_.erase(h);
  auto it = keepalives_.find(key);
  if (it == keepalives_.end()) return;
  ContactKeepalive& k = it->second;
  k.pending.reset();
  // 408: no answer within the transaction timeout; 503: Sofia's own for an unreachable path.
  const bool answered = status != 408 && status != 503;
  if (answered) {
    if (k.misses > 0) {
      log().info("phone {} at {} answers keep-alives again", k.user, k.where);
    }
    k.misses = 0;
    return;
  }
  ++k.misses;
  const unsigned limit = std::max(cfg_->sip.registrar.keepalive_misses, 1U);
  if (k.misses == 1) {
    log().warn("phone {} at {} stopped answering keep-alives ({})", k.user, k.where, status);
  }
  if (k.misses >= limit) {
    log().warn("phone {} at {}: registration removed after {} unanswered keep-alive(s)", k.user,
               k.where, k.misses);
    registrar_.remove(k.user, k.contact);
    keepalives_.erase(it);
  }
}

}  // namespace icegate::sip
