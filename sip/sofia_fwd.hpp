// Include this before any Sofia-SIP header: it fixes the "magic" pointer types Sofia hands back
// in callbacks, for every translation unit of icegate alike.
#pragma once

#include <utility>  // Boost.Asio / g++ 12 need it first; harmless here and keeps order stable

namespace icegate::sip {
class Stack;    // su_root magic
class Profile;  // nua magic: one nua instance per listener address
class SofiaLeg;  // nua handle magic: one call leg's handle
}  // namespace icegate::sip

#define SU_ROOT_MAGIC_T icegate::sip::Stack
#define NUA_MAGIC_T icegate::sip::Profile
#define NUA_HMAGIC_T icegate::sip::SofiaLeg

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>
