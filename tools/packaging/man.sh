#!/bin/sh
# Writes icegate(8) in roff to stdout, from the binary's own help texts (so it cannot drift):
# the command list, each command's --help, the files of an installation.
# Usage: man.sh ICEGATE_BINARY SYSCONFDIR DOCDIR
set -eu
bin=$1 etc=$2 doc=$3
esc() { sed -e 's/\\/\\\\/g' -e 's/^\([.'"'"']\)/\\\&\1/' -e 's/-/\\-/g'; }
version=$("$bin" --version | head -n1 | awk '{print $2}')
cat <<ROFF
.TH ICEGATE 8 "" "icegate $version" "System Administration"
.SH NAME
icegate \\- SIP B2BUA and media gateway for NAT traversal (ICE\\-lite, DTLS\\-SRTP, RTP relay)
.SH SYNOPSIS
.B icegate run
.I FILE
.br
.B icegate
.I command
.RI [ options ]
.br
.B icegate \\-\\-version
.SH DESCRIPTION
icegate sits between a PBX or SIP trunk and softphones behind NATs and firewalls: it anchors
every call's media on its own RTP ports, rewrites SDP candidates, applies CIDR ACLs, answers
ICE\\-lite checks, terminates DTLS\\-SRTP toward the phone and relays RTP toward the trunk.
As a service it runs as
.B icegate run $etc/icegate.xml
under systemd (icegate.service, Type=notify with a watchdog); SIGHUP reloads the file,
SIGTERM ends the calls and stops.
.SH COMMANDS
.nf
ROFF
"$bin" help | esc
echo ".fi"
for c in $("$bin" help | awk '/^commands:/ {on=1; next} on && NF {print $1}'); do
  echo ".SS $c"
  echo ".nf"
  "$bin" "$c" --help 2>&1 | esc
  echo ".fi"
done
cat <<ROFF
.SH VERSION
.nf
ROFF
"$bin" --version | esc
cat <<ROFF
.fi
.SH EXIT STATUS
0 success, 1 failure (an invalid configuration, a failed check), 2 usage error.
.SH FILES
.TP
.I $etc/icegate.xml
the configuration (a conffile of the Debian package); every element:
.I $doc/configuration.md
.TP
.I $doc/examples/
example configurations (a DMZ host, ACL rules, users in an included file)
.TP
.I /var/lib/icegate
the service's state directory and working directory
.SH SEE ALSO
.BR systemctl (1),
.BR journalctl (1);
.I $doc/install.md
(installation, the service),
.I $doc/operations.md
(metrics, control API),
.I $doc/troubleshooting.md
ROFF
