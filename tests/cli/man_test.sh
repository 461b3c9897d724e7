#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The man page documents every subcommand and every option that --help names (issue 27):
# the options come from the binary's own --help, of tunlat and of each subcommand its help
# lists, so an option added to the code without its entry in docs/man/tunlat.8.scd fails
# here. Checks the source and, when the build made it (scdoc found), the generated page,
# which must also render without a warning from man (as lintian checks it).
set -euo pipefail
: "${TUNLAT:?TUNLAT must point at the tunlat binary}"
: "${MAN_SOURCE:?MAN_SOURCE must point at docs/man/tunlat.8.scd}"
MAN_PAGE=${MAN_PAGE:-}
WORK=$(mktemp -d /tmp/tunlat-man.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# help_section TEXT NAME: the lines of section "NAME:" of a CLI11 help, up to a blank line.
help_section() { awk -v s="$2:" '$0 == s { on = 1; next } on && /^$/ { exit } on' <<<"$1"; }
# options_of HELP: every option a help names, one a line ("-h,--help  ..." -> -h, --help).
options_of() {
  help_section "$1" Options | awk '/^  -/ { n = split($1, o, ","); for (i = 1; i <= n; i++) print o[i] }'
}

top=$("$TUNLAT" --help)
mapfile -t subs < <(help_section "$top" Subcommands | awk '{ print $1 }')
((${#subs[@]} >= 2)) || fail "tunlat --help lists ${#subs[@]} subcommands: $top"
# What each page must name: "sub" for a subcommand, "-x" / "--xx" for an option.
: >"$WORK/wanted"
options_of "$top" >>"$WORK/wanted"
for sub in "${subs[@]}"; do
  echo "$sub" >>"$WORK/wanted"
  options_of "$("$TUNLAT" "$sub" --help)" >>"$WORK/wanted"
done
sort -u -o "$WORK/wanted" "$WORK/wanted"
(($(wc -l <"$WORK/wanted") >= 20)) || fail "only $(wc -l <"$WORK/wanted") names from --help: $(cat "$WORK/wanted")"

# lacking FORMAT PAGE: the wanted names the page has not in bold (scd: *--dev*; troff:
# \fB--dev\fR after \- is undone).
lacking() {
  local format=$1 page=$2 name
  sed 's/\\-/-/g' "$page" >"$WORK/page"
  while read -r name; do
    if [[ $format == scd ]]; then
      grep -qF -- "*$name*" "$WORK/page" || echo "$name"
    else
      grep -qF -- "\\fB$name\\fR" "$WORK/page" || echo "$name"
    fi
  done <"$WORK/wanted"
}

# The check can fail: a page without --dev's entry is caught.
sed 's/\*--dev\*/--dev/g' "$MAN_SOURCE" >"$WORK/broken.scd"
grep -qx -- --dev <<<"$(lacking scd "$WORK/broken.scd")" || fail "a page without *--dev* went unnoticed"

missing=$(lacking scd "$MAN_SOURCE")
[[ -z $missing ]] || fail "$MAN_SOURCE lacks what --help names: $(xargs <<<"$missing")"
for section in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" EXAMPLES FILES "SEE ALSO"; do
  grep -qx "# $section" "$MAN_SOURCE" || fail "$MAN_SOURCE has no $section section"
done

if [[ -n $MAN_PAGE ]]; then
  [[ -s $MAN_PAGE ]] || fail "no generated page $MAN_PAGE (build the tunlat_man target)"
  missing=$(lacking troff "$MAN_PAGE")
  [[ -z $missing ]] || fail "$MAN_PAGE lacks what --help names: $(xargs <<<"$missing")"
  if command -v man >/dev/null; then
    # lintian's check: man's own warnings while rendering.
    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$MAN_PAGE" >/dev/null 2>"$WORK/warn"
    [[ ! -s $WORK/warn ]] || fail "man warns on $MAN_PAGE: $(cat "$WORK/warn")"
    LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$MAN_PAGE" 2>/dev/null >"$WORK/text"
    grep -q "tunlat trace --dev tap0" "$WORK/text" || fail "the rendered page lacks its first example"
  fi
  echo "man page: $(wc -l <"$WORK/wanted") names from --help, all in $MAN_SOURCE and $MAN_PAGE"
else
  echo "man page: $(wc -l <"$WORK/wanted") names from --help, all in $MAN_SOURCE (no scdoc: page not built)"
fi
