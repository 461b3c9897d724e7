#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The bash completion (tools/completion/tunlat.bash), driven as bash drives it: COMP_WORDS,
# COMP_CWORD, COMP_LINE and COMP_POINT set for a command line, _tunlat called, COMPREPLY
# read. `ip` is a stub that prints canned devices and namespaces and logs its arguments,
# so the test needs no root and no namespace. Every option of each subcommand's --help
# must be offered after "-": an option added without its completion fails here.
# Skips (77) without bash-completion (tools/setup.sh installs it).
set -uo pipefail
: "${TUNLAT:?TUNLAT must point at the tunlat binary}"
: "${COMPLETION:?COMPLETION must point at tools/completion/tunlat.bash}"
BASH_COMPLETION=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}
[[ -r $BASH_COMPLETION ]] || { echo "SKIP: no $BASH_COMPLETION (apt-get install bash-completion)"; exit 77; }
WORK=$(mktemp -d /tmp/tunlat-completion.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The stub ip: the shell's namespace has lo, a veth, a tap and a tun; namespace vpnA has
# lo and tapA; namespace plain has only lo and eth0 (no tun/tap: every device is offered).
mkdir "$WORK/bin" "$WORK/files"
cat >"$WORK/bin/ip" <<'STUB'
#!/usr/bin/env bash
echo "$*" >>"$IP_LOG"
case "$*" in
  "netns list") printf 'vpnA (id: 0)\nvpnB\nplain\n' ;;
  "-o -d link show")
    echo '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue\    link/loopback 00:00:00:00:00:00'
    echo '5: v0@if4: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue\    link/ether 02:00:00:00:00:01 \    veth addrgenmode eui64'
    echo '6: tap0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop\    link/ether 02:00:00:00:00:02 \    tun type tap pi off vnet_hdr off persist on'
    echo '7: tun1: <POINTOPOINT,NOARP> mtu 1500 qdisc noop\    link/none \    tun type tun pi off vnet_hdr off persist on' ;;
  "-n vpnA -o -d link show")
    echo '1: lo: <LOOPBACK> mtu 65536 qdisc noop\    link/loopback 00:00:00:00:00:00'
    echo '3: tapA: <BROADCAST,MULTICAST> mtu 1500 qdisc noop\    link/ether 02:00:00:00:00:03 \    tun type tap pi off vnet_hdr off persist on' ;;
  "-n plain -o -d link show")
    echo '1: lo: <LOOPBACK> mtu 65536 qdisc noop\    link/loopback 00:00:00:00:00:00'
    echo '2: eth0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop\    link/ether 02:00:00:00:00:04' ;;
  *) exit 1 ;;
esac
STUB
chmod +x "$WORK/bin/ip"
export IP_LOG=$WORK/ip.log
touch "$WORK/files/a.tlrec" "$WORK/files/b.json"

# complete WORD...: the completions bash offers with the cursor at the end of the last
# WORD (give '' to complete an empty word), one a line, sorted.
complete() {
  PATH="$WORK/bin:$PATH" bash -c '
    source "$1"; source "$2"; shift 2
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
    _tunlat tunlat "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$BASH_COMPLETION" "$COMPLETION" "$@" | sed '/^$/d' | sort
}
expect() {  # expect "WANT (space-separated, sorted)" WORD...
  local want=$1 got
  shift
  got=$(complete "$@" | tr '\n' ' ' | sed 's/ $//')
  [[ $got == "$want" ]] || fail "'$*<TAB>' completes to '$got', want '$want'"
}

# The two of issue 27's "done when".
expect "trace" tunlat tr
expect "--dev" tunlat trace --de
expect "report" tunlat re
expect "monitor report trace" tunlat ''
expect "--version" tunlat --v
expect "--duration" tunlat trace --du
expect "--stall-ms" tunlat report --st

# --dev: the tun/tap devices of the shell's namespace, of --netns's, or all when none is.
expect "tap0 tun1" tunlat trace --dev ''
expect "tap0" tunlat trace --dev ta
expect "tapA" tunlat trace --netns vpnA --dev ''
expect "eth0 lo" tunlat trace --netns plain --dev ''
grep -qx -- "-n vpnA -o -d link show" "$IP_LOG" || fail "--dev after --netns vpnA did not ask ip -n vpnA: $(cat "$IP_LOG")"
# --netns: the ip netns names.
expect "vpnA vpnB" tunlat trace --netns vpn
expect "plain vpnA vpnB" tunlat trace --dev tap0 --netns ''
# Files where a file goes; nothing for numbers; the comma list of --flame-by.
(cd "$WORK/files" && expect "a.tlrec b.json" tunlat report '') || exit 1
(cd "$WORK/files" && expect "a.tlrec" tunlat trace --dev tap0 --json a) || exit 1
(cd "$WORK/files" && expect "b.json" tunlat report a.tlrec --html b) || exit 1
expect "" tunlat trace --dev tap0 -d ''
expect "span,cpu span,flow span,process span,state" tunlat report x --flame-by span,
expect "cpu,span,flow" tunlat report x --flame-by cpu,span,f
expect "cpu flow process span state" tunlat trace --dev tap0 --flame-by ''
expect "" tunlat trace --dev tap0 'tcp'

# Every option --help names is offered after "-" (and nothing --help does not name).
for sub in trace report monitor; do
  want=$("$TUNLAT" "$sub" --help | awk '/^Options:$/ { on = 1; next } on && /^$/ { exit }
    on && /^  -/ { n = split($1, o, ","); for (i = 1; i <= n; i++) print o[i] }' | sort | tr '\n' ' ' | sed 's/ $//')
  [[ -n $want ]] || fail "no options in tunlat $sub --help"
  expect "$want" tunlat "$sub" -
done
echo "completion: every check passed"
