#!/bin/sh
# The image's entrypoint: checks the policy file (there, a file, readable by the broker's user), gives the broker
# private copies of its secret files, and runs the command as the broker's user.
#
# Why copies: Docker Compose without Swarm ignores uid/gid/mode on file secrets: a file keeps its host owner
# and mode (root 0600 cannot be read by the broker's user; a private key at 0644 is refused as too open). And
# Kubernetes adds group read to a secret file when the pod has an fsGroup (0400 becomes 0440: a private key
# refused too). So each file named in JIT_SECRET_FILES is copied to JIT_SECRET_DIR (a tmpfs: in memory only),
# owned by the broker's user, mode 0400; the *_FILE variables and the policy's privateKeyPath name the copies.
#
#   started as root (Compose): copies with that owner, then drops to JIT_USER (default node) with setpriv
#   started as the broker's user (Kubernetes: runAsUser): copies what it can read (fsGroup) as itself
#
# Variables: JIT_SECRET_FILES (space-separated paths), JIT_SECRET_DIR (default /run/jit-secrets), JIT_USER
# (default node), JIT_CONFIG (default ./jit.config.yaml, or --config in the command).
set -eu

fail() {
  echo "jit-jump entrypoint: $*" >&2
  exit 1
}

# The policy the command will read: --config wins over JIT_CONFIG, as in src/main.ts.
config="${JIT_CONFIG:-./jit.config.yaml}"
previous=""
for arg in "$@"; do
  case "$arg" in
    --config=*) config="${arg#--config=}" ;;
  esac
  if [ "$previous" = "--config" ]; then config="$arg"; fi
  previous="$arg"
done
# A bind mount of a missing host file makes Docker create a directory in its place.
if [ -d "$config" ]; then
  fail "the policy $config is a directory, not a file: Docker creates one when the host file is missing; create the policy on the host (cp jit.config.example.yaml jit.config.yaml), remove the directory, and start again"
elif [ ! -e "$config" ]; then
  fail "the policy $config does not exist: create it on the host (cp jit.config.example.yaml jit.config.yaml) and mount it there"
elif [ ! -f "$config" ]; then
  fail "the policy $config is not a regular file"
fi

user="${JIT_USER:-node}"
root=false
if [ "$(id -u)" = 0 ]; then
  root=true
  uid="$(id -u "$user" 2>/dev/null)" || fail "JIT_USER $user is no user of this image"
  gid="$(id -g "$user")"
  # shellcheck disable=SC2016 # $1 is the inner shell's
  readable=$(setpriv --reuid="$uid" --regid="$gid" --clear-groups sh -c 'test -r "$1" && echo yes' - "$config") || readable=no
else
  uid="$(id -u)"
  gid="$(id -g)"
  readable=$(test -r "$config" && echo yes) || readable=no
fi
# The policy is read by the broker's user; it holds no secrets.
[ "$readable" = yes ] || fail "the policy $config cannot be read by uid $uid: make it readable (chmod a+r on the host)"

secretdir="${JIT_SECRET_DIR:-/run/jit-secrets}"
if [ -n "${JIT_SECRET_FILES:-}" ]; then
  mkdir -p "$secretdir" 2>/dev/null || fail "cannot create JIT_SECRET_DIR $secretdir: mount a writable tmpfs there"
  if $root; then
    chown "$uid:$gid" "$secretdir"
    chmod 0700 "$secretdir"
  else
    chmod 0700 "$secretdir" 2>/dev/null || true # an emptyDir of a pod with fsGroup belongs to root
  fi
  for source in $JIT_SECRET_FILES; do
    [ -f "$source" ] || fail "JIT_SECRET_FILES names $source, which is not a file: mount the secret there"
    [ -r "$source" ] || fail "cannot read $source as uid $uid: start the container as root (Compose: user: root) or give the pod securityContext.fsGroup $gid (Kubernetes)"
    target="$secretdir/$(basename "$source")"
    # Written under another name and renamed: never a moment with a looser mode, and a restart replaces a copy
    # left by the last run (mode 0400 cannot be written over).
    (umask 077 && cp "$source" "$target.new") || fail "cannot write $target.new"
    if $root; then chown "$uid:$gid" "$target.new"; fi
    chmod 0400 "$target.new"
    mv -f "$target.new" "$target"
    if grep -qsF "$source" "$config"; then
      echo "jit-jump entrypoint: the policy names $source, the secret as mounted (with the host's owner and mode): name the broker's copy $target" >&2
    fi
  done
fi

if $root; then
  HOME="$(getent passwd "$user" | cut -d: -f6)"
  export HOME
  exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- "$@"
fi
exec "$@"
