#!/usr/bin/env bash
# A real JMAP server for the submission tests, on 127.0.0.1 only: Cyrus IMAP (Debian; the JMAP
# server is the httpd of cyrus-caldav) relaying over SMTP to a local sink (aiosmtpd in a venv)
# that stores each message it receives, and nginx in front as a CORS proxy for browsers. Two
# accounts, alice@ and bob@example.org: the sink also delivers what is sent to them into their
# Cyrus INBOX over LMTP (Cyrus's lmtpd), so one can read what the other sent.
# Recipe and pitfalls: shared/notes/jmap-cyrus.md.
#
#   tests/jmap/server.sh start        install what is missing, start everything fresh, print env
#   tests/jmap/server.sh stop         stop everything this script started (by pidfile)
#   tests/jmap/server.sh env          print the environment of the running server
#   tests/jmap/server.sh sink-stop    stop only the SMTP sink (submission then fails: serverFail)
#   tests/jmap/server.sh sink-start   start the SMTP sink again, on the same port
#   tests/jmap/server.sh install      only install the packages and the venv
#
# State lives under tests/out/jmap/ (git-ignored), recreated on every start:
#   env          shell assignments (JMAP_SESSION_URL, JMAP_CORS_SESSION_URL, JMAP_USER,
#                JMAP_CREDENTIALS, JMAP_USER_BOB, JMAP_CREDENTIALS_BOB, JMAP_SINK_DIR, ...);
#                env.json, the same as JSON
#   credentials  alice's JSON {"username","password"} (the password is random, made on each
#                start); credentials-bob, bob's
#   sink/        one NNNN.eml per message received (the DATA bytes) and NNNN.json with the SMTP
#                envelope {"mailFrom","rcptTo":[...]}; NNNN.delivery once the LMTP delivery to
#                the local accounts among the recipients is done ({"delivered","failed"})
# Root is needed to install packages and to run Cyrus (its master drops to the cyrus user).
#   CACHET_JMAP_NO_NGINX=1   do not start nginx
#   CACHET_JMAP_OUT=DIR      keep the state in DIR instead of tests/out/jmap
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
OUT="${CACHET_JMAP_OUT:-$ROOT/tests/out/jmap}"
VENV="${CACHET_JMAP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cachet/jmap-venv}"
APT_PACKAGES=(cyrus-imapd cyrus-caldav cyrus-common sasl2-bin libsasl2-modules-db nginx
  python3 python3-venv)
CYRUS_BIN=/usr/lib/cyrus/bin
DOMAIN=example.org
USER_LOCAL=alice # JMAP_USER, JMAP_CREDENTIALS
USERS=(alice bob) # every account; each but the first gets JMAP_USER_<NAME>, JMAP_CREDENTIALS_<NAME>

say() { echo "jmap-server: $*" >&2; }
die() { say "$*"; exit 1; }

# ---- install ---------------------------------------------------------------------------------

install_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
      || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) == 0 ]] || die "not root: cannot apt-get install ${missing[*]}"
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' scripts from starting system daemons (Docker images ship this file).
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  { apt-get -o DPkg::Lock::Timeout=300 update -qq \
      && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null; } || rc=$?
  [[ $made_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
  [[ $rc == 0 ]] || die "apt-get install failed ($rc)"
}

install_venv() {
  if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
    return 0
  fi
  say "python venv with aiosmtpd in $VENV"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q aiosmtpd
}

install_all() {
  # Test files run in parallel (each with its own CACHET_JMAP_OUT): one installer at a time.
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"
  flock 9
  install_packages
  install_venv
  flock -u 9
  exec 9>&-
}

# ---- helpers ---------------------------------------------------------------------------------

# N free TCP ports on 127.0.0.1 (the kernel's choice, so two runs do not collide).
free_ports() {
  /usr/bin/python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

wait_port() { # port, seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.5)" \
        2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Running, and not a zombie waiting to be reaped (our daemons' parent is init).
alive() {
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
  [[ -n "$state" && "$state" != Z ]]
}

pid_alive() { [[ -f "$1" ]] && alive "$(cat "$1" 2>/dev/null)"; }

stop_pidfile() { # pidfile: TERM, wait up to 5 s, then KILL
  local f="$1" pid i
  pid="$(cat "$f" 2>/dev/null || true)" # (nginx removes its own pidfile as it exits)
  if [[ -n "$pid" ]] && alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

# The ids of the processes whose command line contains $1 (an absolute path only we use).
procs_with() {
  # The path goes through the environment, so that awk's own command line does not match.
  ps -eo pid=,args= | P="$1" awk 'index($0, ENVIRON["P"]) { print $1 }'
}

# ---- the SMTP sink ---------------------------------------------------------------------------

start_sink() {
  # shellcheck source=/dev/null
  source "$OUT/env"
  mkdir -p "$JMAP_SINK_DIR"
  setsid "$VENV/bin/python" "$ROOT/tests/jmap/sink.py" --port "$JMAP_SINK_PORT" \
    --dir "$JMAP_SINK_DIR" --pidfile "$OUT/sink.pid" \
    --lmtp "127.0.0.1:$JMAP_LMTP_PORT" --deliver "$JMAP_LOCAL_ADDRESSES" \
    >"$OUT/sink.log" 2>&1 < /dev/null &
  wait_port "$JMAP_SINK_PORT" 15 || die "the SMTP sink did not start (see $OUT/sink.log)"
}

stop_sink() { stop_pidfile "$OUT/sink.pid"; }

# ---- start / stop ----------------------------------------------------------------------------

stop_all() {
  stop_pidfile "$OUT/nginx.pid" # TERM: nginx's fast shutdown (its workers exit with it)
  if [[ -e "$OUT/cyrus" ]]; then
    local conf
    conf="$(readlink -f "$OUT/cyrus")/imapd.conf"
    stop_pidfile "$OUT/cyrus/master.pid"
    # master's children (imapd, httpd, ctl_cyrusdb) exit with it; wait for them, and stop any
    # that linger (each names this state's imapd.conf on its command line).
    local i pids
    for ((i = 0; i < 50; i++)); do
      pids="$(procs_with "$conf")"
      if [[ -z "$pids" ]]; then break; fi
      if [[ $i == 30 ]]; then kill -TERM $pids 2>/dev/null || true; fi
      sleep 0.1
    done
    pids="$(procs_with "$conf")"
    if [[ -n "$pids" ]]; then kill -KILL $pids 2>/dev/null || true; fi
  fi
  stop_sink
  # A private state directory outside the repository (see start_all).
  if [[ -L "$OUT/cyrus" ]]; then
    local tmp
    tmp="$(readlink "$OUT/cyrus")"
    [[ "$tmp" == /tmp/cachet-jmap.* ]] && rm -rf "$tmp"
    rm -f "$OUT/cyrus"
  fi
  return 0
}

start_all() {
  [[ $(id -u) == 0 ]] || die "must run as root (Cyrus master drops to the cyrus user)"
  install_all
  stop_all
  rm -rf "$OUT"
  mkdir -p "$OUT/sink"
  # Cyrus runs as the cyrus user: its state must be reachable by it. When the repository is not
  # (say, under /root), keep Cyrus's state in a private temporary directory instead.
  local state="$OUT/cyrus"
  mkdir -p "$state"
  chown cyrus:mail "$state"
  if ! runuser -u cyrus -- test -w "$state" 2>/dev/null; then
    rmdir "$state"
    state="$(mktemp -d /tmp/cachet-jmap.XXXXXX)"
    chmod 755 "$state"
    ln -s "$state" "$OUT/cyrus"
  fi
  mkdir -p "$state"/{conf,partition,sieve,log,run,sync}
  mkdir -p "$state/conf/log/smtpclient.host" # Cyrus logs SMTP sessions here when it exists

  local imap_port http_port smtp_port nginx_port lmtp_port
  read -r imap_port http_port smtp_port nginx_port lmtp_port < <(free_ports 5)
  local user="$USER_LOCAL@$DOMAIN"

  cat > "$state/imapd.conf" <<CONF
configdirectory: $state/conf
partition-default: $state/partition
sievedir: $state/sieve
proc_path: $state/run
mboxname_lockpath: $state/run/lock
duplicate_db_path: $state/conf/deliver.db
statuscache_db_path: $state/conf/statuscache.db
tls_sessions_db_path: $state/conf/tls_sessions.db
ptscache_db_path: $state/conf/ptscache.db
lmtpsocket: $state/run/lmtp
idlesocket: $state/run/idle
notifysocket: $state/run/notify
servername: localhost
admins: cyrus
virtdomains: userid
allowplaintext: yes
sasl_mech_list: PLAIN LOGIN
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $state/sasldb2
httpmodules: jmap
httpallowcors: http://127.0.0.1:*,http://localhost:*
conversations: yes
conversations_db: twoskip
autocreate_quota: 0
autocreate_inbox_folders: Drafts | Sent | Trash
xlist-drafts: Drafts
xlist-sent: Sent
xlist-trash: Trash
smtp_backend: host
smtp_host: 127.0.0.1:$smtp_port/noauth
CONF

  # One entry per line, and each block over several lines: a one-line block silently fails.
  cat > "$state/cyrus.conf" <<CONF
START {
  recover cmd="$CYRUS_BIN/ctl_cyrusdb -C $state/imapd.conf -r"
}

SERVICES {
  imap cmd="$CYRUS_BIN/imapd -C $state/imapd.conf" listen="127.0.0.1:$imap_port" prefork=0
  http cmd="$CYRUS_BIN/httpd -C $state/imapd.conf" listen="127.0.0.1:$http_port" prefork=0
  lmtp cmd="$CYRUS_BIN/lmtpd -C $state/imapd.conf -a" listen="127.0.0.1:$lmtp_port" prefork=0
}

EVENTS {
  checkpoint cmd="$CYRUS_BIN/ctl_cyrusdb -C $state/imapd.conf -c" period=30
}
CONF

  # One random password per account, made on each start. (lmtpd -a: LMTP on loopback needs no
  # authentication, as a local mail server's delivery would.)
  local name password file more_env="" addresses=""
  for name in "${USERS[@]}"; do
    password="$(/usr/bin/python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
    printf '%s' "$password" | saslpasswd2 -f "$state/sasldb2" -p -c -u "$DOMAIN" "$name"
    file="$OUT/credentials"
    if [[ $name != "$USER_LOCAL" ]]; then
      file="$OUT/credentials-$name"
      more_env+="JMAP_USER_${name^^}=$name@$DOMAIN"$'\n'"JMAP_CREDENTIALS_${name^^}=$file"$'\n'
    fi
    printf '{"username":"%s","password":"%s"}\n' "$name@$DOMAIN" "$password" > "$file"
    chmod 600 "$file"
    addresses+="${addresses:+,}$name@$DOMAIN"
  done
  chown -R cyrus:mail "$state"

  local nginx=1
  [[ "${CACHET_JMAP_NO_NGINX:-0}" == 1 ]] && nginx=0
  command -v nginx >/dev/null || nginx=0

  cat > "$OUT/env" <<ENV
JMAP_SESSION_URL=http://127.0.0.1:$http_port/jmap/
JMAP_CORS_SESSION_URL=$([[ $nginx == 1 ]] && echo "http://127.0.0.1:$nginx_port/jmap/")
JMAP_USER=$user
JMAP_CREDENTIALS=$OUT/credentials
${more_env}JMAP_SINK_DIR=$OUT/sink
JMAP_SINK_PORT=$smtp_port
JMAP_LMTP_PORT=$lmtp_port
JMAP_LOCAL_ADDRESSES=$addresses
JMAP_IMAP_PORT=$imap_port
JMAP_HTTP_PORT=$http_port
JMAP_NGINX_PORT=$([[ $nginx == 1 ]] && echo "$nginx_port")
JMAP_STATE=$OUT
ENV
  /usr/bin/python3 - "$OUT/env" > "$OUT/env.json" <<'PY'
import json, sys
pairs = (l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]) if "=" in l)
print(json.dumps({k: v for k, v in pairs}, indent=1))
PY

  start_sink

  setsid "$CYRUS_BIN/master" -C "$state/imapd.conf" -M "$state/cyrus.conf" \
    -p "$state/master.pid" -D >"$OUT/master.log" 2>&1 < /dev/null &
  wait_port "$http_port" 30 || die "Cyrus httpd did not start (see $OUT/master.log)"
  wait_port "$imap_port" 10 || die "Cyrus imapd did not start (see $OUT/master.log)"
  wait_port "$lmtp_port" 10 || die "Cyrus lmtpd did not start (see $OUT/master.log)"

  # One IMAP login creates each account: INBOX, Drafts, Sent, Trash. JMAP alone does not.
  /usr/bin/python3 - "$imap_port" "$OUT"/credentials* <<'PY'
import imaplib, json, sys
port = int(sys.argv[1])
for path in sys.argv[2:]:
    creds = json.load(open(path))
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(creds["username"], creds["password"])
    typ, boxes = m.list()
    names = b" ".join(boxes)
    for want in (b"Drafts", b"Sent"):
        if want not in names:
            sys.exit(f"IMAP: {creds['username']}: mailbox {want.decode()} was not created: {boxes}")
    m.logout()
PY

  if [[ $nginx == 1 ]]; then
    mkdir -p "$OUT/nginx/logs" "$OUT/nginx/tmp"
    cat > "$OUT/nginx.conf" <<CONF
daemon on;
pid $OUT/nginx.pid;
error_log $OUT/nginx/logs/error.log warn;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log $OUT/nginx/logs/access.log;
  client_body_temp_path $OUT/nginx/tmp/body;
  proxy_temp_path $OUT/nginx/tmp/proxy;
  fastcgi_temp_path $OUT/nginx/tmp/fastcgi;
  uwsgi_temp_path $OUT/nginx/tmp/uwsgi;
  scgi_temp_path $OUT/nginx/tmp/scgi;
  client_max_body_size 64m;
  map \$http_origin \$cors_origin {
    default "";
    "~^http://(127\\.0\\.0\\.1|localhost)(:[0-9]+)?\$" \$http_origin;
  }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      if (\$request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin \$cors_origin always;
        add_header Access-Control-Allow-Methods "GET, POST, OPTIONS" always;
        add_header Access-Control-Allow-Headers "Authorization, Content-Type, Accept" always;
        add_header Access-Control-Max-Age 600 always;
        add_header Vary Origin always;
        return 204;
      }
      proxy_pass http://127.0.0.1:$http_port;
      proxy_set_header Host \$http_host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_hide_header Access-Control-Allow-Origin;
      proxy_hide_header Access-Control-Allow-Credentials;
      proxy_hide_header Access-Control-Expose-Headers;
      add_header Access-Control-Allow-Origin \$cors_origin always;
      add_header Access-Control-Expose-Headers "Content-Type, Content-Length" always;
      add_header Vary Origin always;
    }
  }
}
CONF
    nginx -c "$OUT/nginx.conf" -p "$OUT/nginx/" -e "$OUT/nginx/logs/error.log" \
      || die "nginx did not start (see $OUT/nginx/logs/error.log)"
    wait_port "$nginx_port" 10 || die "nginx did not listen"
  fi
  cat "$OUT/env"
}

case "${1:-}" in
  start) start_all ;;
  stop) [[ -d "$OUT" ]] && stop_all; say "stopped" ;;
  env) [[ -f "$OUT/env" ]] && pid_alive "$OUT/cyrus/master.pid" \
         || die "not running (start it: $0 start)"; cat "$OUT/env" ;;
  sink-stop) stop_sink ;;
  sink-start) pid_alive "$OUT/sink.pid" || start_sink ;;
  install) install_all ;;
  *) sed -n '2,26p' "$0"; exit 2 ;;
esac
