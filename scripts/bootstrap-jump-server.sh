#!/bin/sh
# Prepares an OpenSSH jump server for jit-jump (README "Jump server setup"): the jump account, the broker's key
# outside the managed block, an sshd_config drop-in with the hardening and logging of DESIGN.md, the group that
# reads sshd's log, `sshd -t` before a reload, and the policy lines for it. Idempotent: a second run changes
# nothing. POSIX sh on Linux (useradd, GNU or busybox stat); run as root. `--help` lists the options and exit codes.
set -eu

PROG=bootstrap-jump-server
BLOCK_BEGIN='# BEGIN jit-jump managed block: do not edit'
BLOCK_END='# END jit-jump managed block'
BROKER_COMMENT=jit-jump-broker
# sshd -T evaluates the Match blocks for a connection like an engineer's: any address (TEST-NET-1).
CHECK_ADDR=192.0.2.1

ACCOUNT=jump
BROKER_KEY=
BROKER_FROM=
LOG_KIND=journal
LOG_FILE=/var/log/auth.log
ROOT=
SSHD=/usr/sbin/sshd
SSHD_CONFIG=
DROPIN=
HOME_DIR=
HOST_KEY=
PID_FILE=
NAME=
ADDRESS=
DRY_RUN=0
RELOAD=1
USERADD=1

usage() {
  cat <<'EOF'
Usage: bootstrap-jump-server.sh --broker-key FILE.pub --broker-from ADDR[,ADDR] [options]

Prepares this host as a jit-jump jump server; run it as root, again whenever you like (a second run changes
nothing). Steps: the jump account (created when missing, shell /bin/sh, home with .ssh 0700), the broker's key
in its authorized_keys OUTSIDE the managed block as from="ADDR",restrict KEY (once), the sshd_config drop-in
(LogLevel VERBOSE, LogVerbose for tunnel targets, an sftp subsystem when none is defined, and a Match User block:
AllowTcpForwarding local, PermitListen none, AllowStreamLocalForwarding no, X11Forwarding no,
AllowAgentForwarding no, PermitTunnel no), the group that reads sshd's log, `sshd -t` and `sshd -T` (a failure
restores the previous drop-in), a reload of sshd, then the host key fingerprint and a policy snippet.

  --broker-key FILE.pub   the broker's public key (the .pub of jumpHosts[].privateKeyPath)       (required)
  --broker-from LIST      the broker's address(es) as sshd's from= patterns, e.g. 10.1.2.3 or
                          10.1.2.0/24,2001:db8::5; '*' allows any address (not recommended)      (required)
  --user NAME             the jump account (default jump; never root)
  --log journal|file      where the broker reads sshd's log: journald (group systemd-journal,
                          the default) or a syslog file (group adm)
  --log-file PATH         the syslog file for --log file (default /var/log/auth.log)
  --home DIR              home of a NEW account (default /home/NAME); an existing account keeps its own
  --no-useradd            never create or change accounts: the account must exist; a missing group
                          membership is reported, not added
  --dry-run               print what would change, change nothing
  --no-reload             write and validate, but do not reload sshd
  --name NAME             jumpHosts[].name in the printed snippet (default: the short host name)
  --address ADDR          jumpHosts[].address in the printed snippet (default: the host name)
  --root DIR              prefix for sshd's files (etc/ssh/…, run/sshd.pid), for tests; with it sshd is
                          reloaded only through the pid file. Accounts and homes are the system's.
  --sshd PATH             the sshd binary (default /usr/sbin/sshd)
  --sshd-config PATH      sshd's main configuration (default ROOT/etc/ssh/sshd_config); it must
                          Include the drop-in's directory (Debian's does: sshd_config.d/*.conf)
  --drop-in PATH          the drop-in (default ROOT/etc/ssh/sshd_config.d/jit-jump.conf)
  --host-key FILE.pub     the host key to pin (default ROOT/etc/ssh/ssh_host_ed25519_key.pub)
  --pid-file PATH         sshd's pid file (default ROOT/run/sshd.pid)
  -h, --help              this text

Output: one line per step, "ok:" (already as wanted), "changed:", "would:" (--dry-run), "warn:" or "error:".

Exit codes:
  0  done, or already as wanted (also a --dry-run)
  1  failure: not root, an account or file could not be changed, or sshd rejected the configuration
     (the previous drop-in is restored and sshd is not reloaded)
  2  usage: an unknown option, a missing or invalid value, a broker key file that is not one public key
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf 'warn: %s\n' "$*" >&2; }
fail() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'error: %s (see %s --help)\n' "$*" "$PROG" >&2
  exit 2
}

CHANGES=0
# One change: $1 says what a dry run would do ("create account jump"), $2 what was done ("created account jump").
changed() {
  CHANGES=$((CHANGES + 1))
  if [ "$DRY_RUN" = 1 ]; then say "would: $1"; else say "changed: $2"; fi
}

need_value() {
  if [ "$#" -lt 2 ] || [ -z "$2" ]; then usage_error "$1 needs a value"; fi
}

while [ "$#" -gt 0 ]; do
  case $1 in
    --broker-key) need_value "$@"; BROKER_KEY=$2; shift 2 ;;
    --broker-from) need_value "$@"; BROKER_FROM=$2; shift 2 ;;
    --user) need_value "$@"; ACCOUNT=$2; shift 2 ;;
    --log) need_value "$@"; LOG_KIND=$2; shift 2 ;;
    --log-file) need_value "$@"; LOG_FILE=$2; shift 2 ;;
    --home) need_value "$@"; HOME_DIR=$2; shift 2 ;;
    --no-useradd) USERADD=0; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --no-reload) RELOAD=0; shift ;;
    --name) need_value "$@"; NAME=$2; shift 2 ;;
    --address) need_value "$@"; ADDRESS=$2; shift 2 ;;
    --root) need_value "$@"; ROOT=${2%/}; shift 2 ;;
    --sshd) need_value "$@"; SSHD=$2; shift 2 ;;
    --sshd-config) need_value "$@"; SSHD_CONFIG=$2; shift 2 ;;
    --drop-in) need_value "$@"; DROPIN=$2; shift 2 ;;
    --host-key) need_value "$@"; HOST_KEY=$2; shift 2 ;;
    --pid-file) need_value "$@"; PID_FILE=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

# ---- arguments: checked before anything is read or changed ----

[ -n "$BROKER_KEY" ] || usage_error "--broker-key FILE.pub is required (the broker's public key)"
[ -n "$BROKER_FROM" ] || usage_error "--broker-from ADDR is required (the broker's address; '*' for any)"
# sshd's from= takes a pattern list: addresses, CIDR, host names, * ? and ! only. No quote can end the option.
case $BROKER_FROM in
  *[!A-Za-z0-9.:/*?!,_-]* | ,* | *, | *,,*) usage_error "--broker-from: not a comma-separated list of addresses or patterns: $BROKER_FROM" ;;
esac
# The names useradd accepts by default; root is refused: a root login has no separate user child to end.
case $ACCOUNT in
  root) usage_error "--user must not be root (a root login gets no separate sshd child, so sessions cannot be ended)" ;;
  [a-z_]*) ;;
  *) usage_error "--user: not an account name: $ACCOUNT" ;;
esac
case $ACCOUNT in *[!a-z0-9_-]*) usage_error "--user: not an account name: $ACCOUNT" ;; esac
[ "${#ACCOUNT}" -le 32 ] || usage_error "--user: longer than 32 characters: $ACCOUNT"
case $LOG_KIND in
  journal) LOG_GROUP=systemd-journal; SNIPPET_LOG='{ journal: true }' ;;
  file) LOG_GROUP=adm; SNIPPET_LOG="{ file: $LOG_FILE }" ;;
  *) usage_error "--log must be journal or file, not: $LOG_KIND" ;;
esac
case $LOG_FILE in /*) ;; *) usage_error "--log-file must be an absolute path: $LOG_FILE" ;; esac
if [ -n "$HOME_DIR" ]; then
  case $HOME_DIR in /*) ;; *) usage_error "--home must be an absolute path: $HOME_DIR" ;; esac
fi
if [ -n "$ROOT" ]; then
  case $ROOT in /*) ;; *) usage_error "--root must be an absolute path: $ROOT" ;; esac
  [ -d "$ROOT" ] || usage_error "--root: no such directory: $ROOT"
fi
SSHD_CONFIG=${SSHD_CONFIG:-$ROOT/etc/ssh/sshd_config}
DROPIN=${DROPIN:-$ROOT/etc/ssh/sshd_config.d/jit-jump.conf}
HOST_KEY=${HOST_KEY:-$ROOT/etc/ssh/ssh_host_ed25519_key.pub}
PID_FILE=${PID_FILE:-$ROOT/run/sshd.pid}
case $DROPIN in *.conf) ;; *) usage_error "--drop-in must end in .conf (what sshd_config.d/*.conf includes): $DROPIN" ;; esac

[ -r "$BROKER_KEY" ] || usage_error "--broker-key: cannot read $BROKER_KEY"
if grep -q 'PRIVATE KEY' "$BROKER_KEY"; then
  usage_error "--broker-key: $BROKER_KEY is a PRIVATE key; pass the .pub file (and keep the private key on the broker only)"
fi
[ "$(grep -c . "$BROKER_KEY")" = 1 ] || usage_error "--broker-key: $BROKER_KEY must hold exactly one public key line"
ssh-keygen -l -f "$BROKER_KEY" >/dev/null 2>&1 || usage_error "--broker-key: not an OpenSSH public key: $BROKER_KEY"
# Only the type and the base64 body are taken: options or a comment in the file never reach authorized_keys.
KEY_TYPE=$(awk 'NF { print $1; exit }' "$BROKER_KEY")
KEY_BODY=$(awk 'NF { print $2; exit }' "$BROKER_KEY")
case $KEY_TYPE in
  ssh-ed25519 | ecdsa-sha2-nistp256 | ecdsa-sha2-nistp384 | ecdsa-sha2-nistp521 | ssh-rsa) ;;
  *) usage_error "--broker-key: $BROKER_KEY must be a plain ed25519, ECDSA or RSA public key (type first), not: $KEY_TYPE" ;;
esac
case $KEY_BODY in '' | *[!A-Za-z0-9+/=]*) usage_error "--broker-key: $BROKER_KEY has no base64 key after its type" ;; esac
BROKER_LINE="from=\"$BROKER_FROM\",restrict $KEY_TYPE $KEY_BODY $BROKER_COMMENT"

# ---- the system: checked before anything is changed ----

[ "$(id -u)" = 0 ] || fail "run as root: it creates the account and edits sshd's configuration (--dry-run too: it runs sshd -T)"
[ -x "$SSHD" ] || fail "no sshd at $SSHD (install openssh-server, or pass --sshd PATH)"
[ -r "$SSHD_CONFIG" ] || fail "cannot read sshd's configuration $SSHD_CONFIG (pass --sshd-config PATH)"
[ -r "$HOST_KEY" ] || fail "no host key at $HOST_KEY: the policy pins it (ssh-keygen -A creates one, or pass --host-key FILE.pub)"
HOST_FP=$(ssh-keygen -l -E sha256 -f "$HOST_KEY" 2>/dev/null | awk '{ print $2 }') || true
case $HOST_FP in SHA256:*) ;; *) fail "not a public host key: $HOST_KEY" ;; esac
getent group "$LOG_GROUP" >/dev/null || fail "no group $LOG_GROUP on this host (--log $LOG_KIND): is $([ "$LOG_KIND" = journal ] && echo systemd-journald || echo rsyslog) installed?"

if getent passwd "$ACCOUNT" >/dev/null; then
  [ "$(id -u "$ACCOUNT")" != 0 ] || fail "account $ACCOUNT has uid 0: use a non-root account (sessions of a root login cannot be ended)"
elif [ "$USERADD" = 0 ]; then
  fail "account $ACCOUNT does not exist (--no-useradd): create it, or run without --no-useradd"
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Runs a command that edits the account database up to 5 times: another useradd/usermod may hold its lock.
retry() {
  n=1
  until "$@" 2>"$TMP/retry.err"; do
    [ "$n" -lt 5 ] || return 1
    n=$((n + 1))
    sleep 1
  done
}

# ---- 1. the sshd drop-in, validated before anything else changes ----

DROPIN_DIR=$(dirname "$DROPIN")
# Subsystem may be defined once only (sshd -t refuses a second): add it only when no other file defines sftp.
sftp_defined_elsewhere() {
  for f in "$SSHD_CONFIG" "$DROPIN_DIR"/*.conf; do
    if [ ! -f "$f" ] || [ "$f" = "$DROPIN" ]; then continue; fi
    if grep -Eiq '^[[:space:]]*Subsystem[[:space:]]+sftp([[:space:]]|$)' "$f"; then return 0; fi
  done
  return 1
}

{
  say "# Written by jit-jump's scripts/bootstrap-jump-server.sh; a re-run rewrites it (README \"Jump server setup\")."
  say "# The broker reads sshd's log: VERBOSE logs \"Accepted publickey ... SHA256:<fp>\" and \"User child is on pid <C>\";"
  say "# LogVerbose adds each tunnel's target."
  say "LogLevel VERBOSE"
  say "LogVerbose serverloop.c:server_request_direct_tcpip():*"
  if ! sftp_defined_elsewhere; then
    say "# The broker edits authorized_keys over SFTP."
    say "Subsystem sftp internal-sftp"
  fi
  say "# Per-key options cannot forbid remote forwarding (port-forwarding on a grant's line allows -R too): forbid it here."
  say "Match User $ACCOUNT"
  say "	AllowTcpForwarding local"
  say "	PermitListen none"
  say "	AllowStreamLocalForwarding no"
  say "	X11Forwarding no"
  say "	AllowAgentForwarding no"
  say "	PermitTunnel no"
} >"$TMP/dropin"

# What sshd makes of the configuration for the jump account: empty output and a message in $TMP/t.err if it fails.
effective() {
  "$SSHD" -T -f "$SSHD_CONFIG" -C "user=$ACCOUNT,host=jit-jump-check,addr=$CHECK_ADDR" 2>"$TMP/t.err" || true
}

# Each wanted setting as sshd -T prints it; prints the first that is not so (keyword, value) and fails.
check_effective() {
  effective >"$TMP/t.out"
  [ -s "$TMP/t.out" ] || { tr -d '\r' <"$TMP/t.err" | grep . | head -n 1; return 1; }
  for want in 'allowtcpforwarding local' 'permitlisten none' 'allowstreamlocalforwarding no' 'x11forwarding no' \
    'allowagentforwarding no' 'permittunnel no' 'loglevel VERBOSE'; do
    if ! grep -qx "$want" "$TMP/t.out"; then
      key=${want%% *}
      got=$(awk -v k="$key" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$TMP/t.out")
      say "sshd -T gives $key ${got:-(unset)} for $ACCOUNT, wanted ${want#* }"
      return 1
    fi
  done
  grep -q '^subsystem sftp ' "$TMP/t.out" || { say "sshd -T shows no sftp subsystem"; return 1; }
  grep -q '^logverbose .*server_request_direct_tcpip' "$TMP/t.out" || { say "sshd -T shows no LogVerbose for tunnel targets"; return 1; }
}

DROPIN_CHANGED=0
if [ -f "$DROPIN" ] && cmp -s "$TMP/dropin" "$DROPIN"; then
  say "ok: $DROPIN is as wanted"
elif [ "$DRY_RUN" = 1 ]; then
  changed "$([ -f "$DROPIN" ] && echo rewrite || echo write) $DROPIN (Match User $ACCOUNT hardening, LogLevel VERBOSE), validate it with sshd -t"
else
  mkdir -p "$DROPIN_DIR"
  had_previous=0
  if [ -f "$DROPIN" ]; then
    had_previous=1
    cp -p "$DROPIN" "$TMP/previous"
  fi
  # Same directory, then rename: sshd never reads half a file. A dot name is outside sshd's *.conf glob.
  cp "$TMP/dropin" "$DROPIN_DIR/.jit-jump.new"
  chmod 0644 "$DROPIN_DIR/.jit-jump.new"
  mv -f "$DROPIN_DIR/.jit-jump.new" "$DROPIN"
  restore() {
    if [ "$had_previous" = 1 ]; then cp -p "$TMP/previous" "$DROPIN"; else rm -f "$DROPIN"; fi
    if ! "$SSHD" -t -f "$SSHD_CONFIG" 2>/dev/null; then
      fail "$1; restored the previous drop-in and changed nothing else (sshd -t fails without the new drop-in too: fix that first)"
    fi
    fail "$1; restored the previous drop-in and changed nothing else"
  }
  if ! "$SSHD" -t -f "$SSHD_CONFIG" 2>"$TMP/t.err"; then
    restore "sshd -t rejects $SSHD_CONFIG with the new drop-in: $(tr -d '\r' <"$TMP/t.err" | grep . | head -n 1)"
  fi
  if ! why=$(check_effective); then
    restore "$why (another file sets it first, or $SSHD_CONFIG does not Include $DROPIN_DIR/*.conf at its top)"
  fi
  DROPIN_CHANGED=1
  changed "" "wrote $DROPIN (validated with sshd -t and sshd -T)"
fi
# Unchanged (or a dry run): still prove that sshd applies it, as a second run is how an operator checks.
if [ "$DROPIN_CHANGED" = 0 ] && [ -f "$DROPIN" ] && cmp -s "$TMP/dropin" "$DROPIN"; then
  why=$(check_effective) || fail "$why (another file sets it first, or $SSHD_CONFIG does not Include $DROPIN_DIR/*.conf at its top)"
  say "ok: sshd -T applies the hardening and VERBOSE logging to $ACCOUNT"
fi

# ---- 2. the account ----

ACCOUNT_EXISTS=0
if getent passwd "$ACCOUNT" >/dev/null; then
  ACCOUNT_EXISTS=1
  ACCOUNT_HOME=$(getent passwd "$ACCOUNT" | cut -d: -f6)
  if [ -n "$HOME_DIR" ] && [ "$HOME_DIR" != "$ACCOUNT_HOME" ]; then
    warn "--home ignored: account $ACCOUNT exists with home $ACCOUNT_HOME"
  fi
  say "ok: account $ACCOUNT exists (home $ACCOUNT_HOME)"
  # useradd leaves "!": sshd without PAM refuses a locked account even for keys; "*" only bars passwords.
  case $(getent shadow "$ACCOUNT" 2>/dev/null | cut -d: -f2) in
    '!'*) warn "account $ACCOUNT is locked ('!' in /etc/shadow): an sshd with UsePAM no refuses it; usermod -p '*' $ACCOUNT" ;;
  esac
else
  ACCOUNT_HOME=${HOME_DIR:-/home/$ACCOUNT}
  if [ "$DRY_RUN" = 0 ]; then
    # The broker runs journalctl there, so a real shell; every grant line carries command="/bin/false".
    mkdir -p "$(dirname "$ACCOUNT_HOME")"
    if ! retry useradd -m -d "$ACCOUNT_HOME" -s /bin/sh "$ACCOUNT" && ! getent passwd "$ACCOUNT" >/dev/null; then
      fail "useradd $ACCOUNT failed: $(head -n 1 "$TMP/retry.err")"
    fi
    retry usermod -p '*' "$ACCOUNT" || fail "usermod -p '*' $ACCOUNT failed: $(head -n 1 "$TMP/retry.err")"
    ACCOUNT_EXISTS=1
  fi
  changed "create account $ACCOUNT (home $ACCOUNT_HOME, shell /bin/sh, no password)" "created account $ACCOUNT (home $ACCOUNT_HOME, shell /bin/sh, no password)"
fi

# ---- 3. the group that reads sshd's log ----

if [ "$ACCOUNT_EXISTS" = 1 ] && id -nG "$ACCOUNT" | tr ' ' '\n' | grep -qx "$LOG_GROUP"; then
  say "ok: $ACCOUNT is in group $LOG_GROUP (reads sshd's log)"
elif [ "$USERADD" = 0 ]; then
  warn "$ACCOUNT is not in group $LOG_GROUP, so the broker cannot read sshd's log: usermod -aG $LOG_GROUP $ACCOUNT (--no-useradd changes no account)"
else
  if [ "$DRY_RUN" = 0 ]; then
    retry usermod -a -G "$LOG_GROUP" "$ACCOUNT" || fail "usermod -aG $LOG_GROUP $ACCOUNT failed: $(head -n 1 "$TMP/retry.err")"
  fi
  changed "add $ACCOUNT to group $LOG_GROUP (reads sshd's log)" "added $ACCOUNT to group $LOG_GROUP (applies to new logins: restart a running broker)"
fi

if [ "$LOG_KIND" = file ] && [ ! -f "$ROOT$LOG_FILE" ]; then
  warn "no file $ROOT$LOG_FILE (--log file): is a syslog daemon (rsyslog) writing sshd's lines there? Debian 12 logs to the journal only"
fi

# ---- 4. ~/.ssh and the broker's line in authorized_keys ----

SSH_DIR=$ACCOUNT_HOME/.ssh
AUTH_KEYS=$SSH_DIR/authorized_keys

# Sets owner and mode of $1 to the account's and $2; reports a change.
own() {
  if [ "$ACCOUNT_EXISTS" = 1 ] && [ -e "$1" ] && [ "$(stat -c '%U %a' "$1")" = "$ACCOUNT ${2#0}" ]; then return 0; fi
  if [ "$DRY_RUN" = 0 ]; then
    chown "$ACCOUNT:$(id -gn "$ACCOUNT")" "$1"
    chmod "$2" "$1"
  fi
  changed "make $1 $ACCOUNT's, mode $2" "made $1 $ACCOUNT's, mode $2"
}

if [ -d "$ACCOUNT_HOME" ]; then
  # sshd (StrictModes) ignores authorized_keys below a home others may write to.
  case $(stat -c '%a' "$ACCOUNT_HOME") in
    *[2367]? | *[2367]) warn "$ACCOUNT_HOME is writable by group or others: sshd's StrictModes will ignore its authorized_keys" ;;
  esac
elif [ "$DRY_RUN" = 0 ]; then
  fail "home $ACCOUNT_HOME of $ACCOUNT does not exist: create it (owned by $ACCOUNT, mode 0755 or stricter)"
fi

if [ -d "$SSH_DIR" ]; then
  own "$SSH_DIR" 0700
else
  if [ "$DRY_RUN" = 0 ]; then
    mkdir -m 0700 "$SSH_DIR"
    chown "$ACCOUNT:$(id -gn "$ACCOUNT")" "$SSH_DIR"
  fi
  changed "create $SSH_DIR (owned by $ACCOUNT, mode 0700)" "created $SSH_DIR (owned by $ACCOUNT, mode 0700)"
fi

# The file with the broker's line: its key's first line outside the managed block becomes BROKER_LINE, later
# ones with that key go (sshd uses the first match: two would only confuse), the block is copied as it is.
# Without such a line, BROKER_LINE goes before the block (or at the end). Prints to stdout; exit 3 = key was absent.
render_keys() {
  awk -v key="$KEY_TYPE $KEY_BODY" -v want="$BROKER_LINE" -v begin="$BLOCK_BEGIN" -v end="$BLOCK_END" '
    function has_key(line,   s) {
      if (line ~ /^[ \t]*#/) return 0
      s = line; gsub(/[ \t\r]+/, " ", s)
      return index(" " s " ", " " key " ") > 0
    }
    { lines[NR] = $0 }
    END {
      inblock = 0; found = 0; first_begin = 0
      for (i = 1; i <= NR; i++) {
        if (!inblock && index(lines[i], begin) == 1) { inblock = 1; if (!first_begin) first_begin = i }
        else if (inblock && lines[i] == end) inblock = 0
        else if (!inblock && has_key(lines[i])) { outside[i] = 1; found = 1 }
      }
      placed = 0
      for (i = 1; i <= NR; i++) {
        if (!found && i == first_begin) { print want; placed = 1 }
        if (outside[i]) { if (!placed) { print want; placed = 1 }; continue }
        print lines[i]
      }
      if (!placed) print want
      exit found ? 0 : 3
    }' "$1"
}

if [ -f "$AUTH_KEYS" ]; then cp "$AUTH_KEYS" "$TMP/keys.old"; else : >"$TMP/keys.old"; fi
rc=0
render_keys "$TMP/keys.old" >"$TMP/keys.new" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "could not read $AUTH_KEYS"
if [ -f "$AUTH_KEYS" ] && cmp -s "$TMP/keys.old" "$TMP/keys.new"; then
  say "ok: $AUTH_KEYS holds the broker's key once, from=\"$BROKER_FROM\",restrict"
  own "$AUTH_KEYS" 0600
else
  what=$([ "$rc" = 3 ] && echo "add the broker's key to" || echo "rewrite the broker's line in")
  if [ "$DRY_RUN" = 0 ]; then
    # Same directory, then rename, as the broker writes it: sshd never reads half a file.
    new=$(mktemp "$SSH_DIR/.authorized_keys.XXXXXX")
    cat "$TMP/keys.new" >"$new"
    chmod 0600 "$new"
    chown "$ACCOUNT:$(id -gn "$ACCOUNT")" "$new"
    mv -f "$new" "$AUTH_KEYS"
  fi
  changed "$what $AUTH_KEYS (from=\"$BROKER_FROM\",restrict, outside the managed block)" \
    "$(echo "$what" | sed 's/^add/added/; s/^rewrite/rewrote/') $AUTH_KEYS (from=\"$BROKER_FROM\",restrict, outside the managed block)"
fi

# ---- 5. reload sshd (only when its configuration changed) ----

# The systemd unit running sshd (Debian/Ubuntu: ssh, others: sshd), or nothing; never under --root.
running_unit() {
  if [ -n "$ROOT" ] || [ ! -d /run/systemd/system ] || ! command -v systemctl >/dev/null; then return 0; fi
  for u in ssh sshd; do
    if systemctl is-active --quiet "$u"; then
      echo "$u"
      return 0
    fi
  done
}

if [ "$DROPIN_CHANGED" = 0 ]; then
  :
elif [ "$RELOAD" = 0 ]; then
  warn "sshd not reloaded (--no-reload): the drop-in applies after systemctl reload ssh (or kill -HUP \$(cat $PID_FILE))"
elif unit=$(running_unit) && [ -n "$unit" ]; then
  systemctl reload "$unit" || fail "systemctl reload $unit failed (the drop-in is written and valid): see journalctl -u $unit"
  say "changed: reloaded sshd (systemctl reload $unit)"
elif [ -r "$PID_FILE" ] && pid=$(cat "$PID_FILE") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  # SIGHUP makes sshd re-execute itself with the new configuration; open sessions stay up.
  kill -HUP "$pid" || fail "kill -HUP $pid (sshd, from $PID_FILE) failed"
  say "changed: reloaded sshd (SIGHUP to pid $pid from $PID_FILE)"
else
  warn "no running sshd found (no active ssh/sshd unit, no live pid in $PID_FILE): the drop-in applies when sshd starts"
fi

# ---- 6. what the policy needs ----

PORT=$(effective | awk '$1 == "port" { print $2; exit }')
say "host key: $HOST_FP ($HOST_KEY)"
if [ "$DRY_RUN" = 1 ]; then
  say "dry run: $CHANGES change(s) would be made, none made"
elif [ "$CHANGES" = 0 ]; then
  say "nothing to change: already as wanted"
else
  say "done: $CHANGES change(s)"
fi
say "policy snippet (jit.config.yaml, under jumpHosts:):"
cat <<EOF
  - name: ${NAME:-$(hostname -s 2>/dev/null || hostname)}
    address: ${ADDRESS:-$(hostname -f 2>/dev/null || hostname)}
    port: ${PORT:-22}
    user: $ACCOUNT
    hostKey: "$HOST_FP"
    privateKeyPath: /run/jit-secrets/broker_ed25519
    authorizedKeysPath: .ssh/authorized_keys
    sshdLog: $SNIPPET_LOG
EOF
