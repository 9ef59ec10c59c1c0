#!/usr/bin/env bash
# check.sh: build the Debian package, install it with dpkg -i, run omstil
# as its unit does, verify the unit, purge the package and check what
# is gone and what stays (docs/operations.md). CI runs it as root on a
# Debian machine (.ci/run). It refuses to run where omstil is installed
# or its user or data exist, and removes what it made when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '== deb: %s\n' "$*"; }
fail() { printf 'deb check: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || fail "run as root (it installs a package)"
if dpkg -s omstil >/dev/null 2>&1 || getent passwd omstil >/dev/null ||
	[[ -e /var/lib/omstil || -e /etc/omstil ]]; then
	fail "omstil is installed here, or its user or /var/lib/omstil or /etc/omstil exist; this check installs and purges the package, so run it elsewhere"
fi

work=$(mktemp -d)
cleanup() {
	# Leave the machine as it was, also when a step failed.
	dpkg --purge omstil >/dev/null 2>&1 || true
	if getent passwd omstil >/dev/null; then userdel omstil >/dev/null 2>&1 || true; fi
	if getent group omstil >/dev/null; then groupdel omstil >/dev/null 2>&1 || true; fi
	rm -rf /var/lib/omstil /etc/omstil "$work"
}
trap cleanup EXIT

log "build"
deb=$(deploy/debian/build.sh "$work")
ver=$(dpkg-deb --field "$deb" Version)

log "dpkg -i $(basename "$deb")"
dpkg -i "$deb" >/dev/null

log "installed files"
[[ -x /usr/bin/omstil ]] || fail "/usr/bin/omstil missing"
[[ -f /usr/lib/systemd/system/omstil.service ]] || fail "unit missing"
getent passwd omstil >/dev/null || fail "no user omstil"
[[ $(stat -c '%U:%G %a' /var/lib/omstil) == "omstil:omstil 750" ]] || fail "/var/lib/omstil is $(stat -c '%U:%G %a' /var/lib/omstil)"
[[ $(stat -c '%U:%G %a' /etc/omstil/omstil.env) == "root:omstil 640" ]] || fail "omstil.env is $(stat -c '%U:%G %a' /etc/omstil/omstil.env)"
grep -qx /etc/omstil/omstil.env /var/lib/dpkg/info/omstil.conffiles || fail "omstil.env is not a conffile"

log "omstil version"
out=$(/usr/bin/omstil version)
[[ $out == "omstil $ver" ]] || fail "omstil version says '$out', the package is $ver"

# As the unit runs it: user omstil, the env file's settings, in the state
# directory. systemd's EnvironmentFile syntax is a superset of this
# (VARIABLE=value lines, # comments), which is all omstil.env uses.
as_unit() {
	local vars
	mapfile -t vars < <(grep -E '^[A-Z_][A-Z0-9_]*=' /etc/omstil/omstil.env)
	(cd /var/lib/omstil && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${vars[@]}" runuser -u omstil -- /usr/bin/omstil "$@")
}
log "omstil migrate --status, as the unit runs it"
out=$(as_unit migrate --status)
echo "   $out"
[[ $out == "schema version 0 "* ]] || fail "migrate --status on a new installation: $out"
log "omstil migrate; omstil backup; omstil restore"
as_unit migrate >/dev/null
out=$(as_unit migrate --status)
[[ $out == *"up to date" ]] || fail "after migrate: $out"
as_unit backup /var/lib/omstil/check.bak >/dev/null
rm /var/lib/omstil/omstil.db
as_unit restore /var/lib/omstil/check.bak >/dev/null
[[ $(stat -c %U /var/lib/omstil/omstil.db) == omstil ]] || fail "restored database not owned by omstil"
out=$(as_unit migrate --status)
[[ $out == *"up to date" ]] || fail "after restore: $out"

log "systemd-analyze verify"
systemd-analyze verify /usr/lib/systemd/system/omstil.service

log "reinstall (an upgrade) keeps the changed env file and the data"
echo "OMSTIL_LOG_LEVEL=debug" >>/etc/omstil/omstil.env
dpkg -i "$deb" >/dev/null
grep -qx OMSTIL_LOG_LEVEL=debug /etc/omstil/omstil.env || fail "upgrade replaced the changed env file"
[[ $(stat -c '%U:%G %a' /etc/omstil/omstil.env) == "root:omstil 640" ]] || fail "omstil.env is $(stat -c '%U:%G %a' /etc/omstil/omstil.env) after the upgrade"
[[ -s /var/lib/omstil/omstil.db ]] || fail "upgrade lost the database"

log "dpkg --remove keeps settings, user and data"
dpkg --remove omstil >/dev/null
[[ ! -e /usr/bin/omstil && ! -e /usr/lib/systemd/system/omstil.service ]] || fail "remove left the binary or the unit"
[[ -f /etc/omstil/omstil.env ]] || fail "remove took the env file"
[[ -s /var/lib/omstil/omstil.db ]] || fail "remove took the database"

log "dpkg --purge takes the settings, keeps user and data"
dpkg --purge omstil >/dev/null
[[ ! -e /etc/omstil ]] || fail "purge left /etc/omstil"
[[ ! -e /etc/systemd/system/omstil.service ]] || fail "purge left a unit mask"
dpkg -s omstil >/dev/null 2>&1 && fail "omstil still known to dpkg"
[[ -s /var/lib/omstil/omstil.db ]] || fail "purge took the database (documented to stay)"
getent passwd omstil >/dev/null || fail "purge took the user (documented to stay)"

log "ok ($ver)"
