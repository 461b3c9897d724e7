# SPDX-License-Identifier: MIT
# bash completion for tunlat(8): subcommands and their options, --dev the tun/tap devices
# of the namespace --netns names (or of the shell's own), --netns the `ip netns` names,
# files where a file goes. Installed as share/bash-completion/completions/tunlat, which
# bash-completion loads on the first `tunlat <TAB>`; uses its _init_completion and _filedir.
# tests/cli/completion_test.sh drives it, and fails when an option of --help is missing here.
# SC2207: COMPREPLY=($(compgen ...)) is bash-completion's own idiom; the words are names.
# shellcheck disable=SC2207

# The options of each subcommand.
_tunlat_visual='--folded --svg --html --perfetto --flame-by --perfetto-packets --pcapng --snaplen'
_tunlat_trace_opts="-h --help --dev --netns --pid -d --duration -i --interval --json --record --sample
  --stall-ms --filter -q --quiet --no-sched --sched -v --verbose $_tunlat_visual"
_tunlat_report_opts="-h --help --json --stall-ms $_tunlat_visual"
_tunlat_monitor_opts="-h --help --dev --netns --listen --stall-ms --scan --sample -d --duration -v --verbose"

# _tunlat_devices [NETNS]: the tun/tap devices of NETNS (a name, a path or a pid, as --netns
# takes it; empty: the shell's own namespace), or every device if it has none (tunlat
# traces any device, with a note). Entering another namespace needs root: as another user
# the list is empty and the user types the name.
_tunlat_devices() {
  local ns=$1
  local -a cmd=(ip -o -d link show)
  if [[ -n $ns ]]; then
    if [[ $ns =~ ^[0-9]+$ ]]; then
      cmd=(nsenter -t "$ns" -n "${cmd[@]}")
    elif [[ $ns == */* ]]; then
      cmd=(nsenter --net="$ns" "${cmd[@]}")
    else
      cmd=(ip -n "$ns" -o -d link show)
    fi
  fi
  # One line per device: "5: tap0: <...> ... tun type tap ..."; a veth is "6: v0@if5: ...".
  "${cmd[@]}" 2>/dev/null | awk '
    { name = $2; sub(/:$/, "", name); sub(/@.*/, "", name); all[++n] = name }
    / tun type (tun|tap) / { tun[++t] = name }
    END { if (t) for (i = 1; i <= t; i++) print tun[i]; else for (i = 1; i <= n; i++) print all[i] }'
}

_tunlat() {
  local cur prev words cword split
  _init_completion -s || return

  # The subcommand, and the --netns given so far (as "--netns NS" or "--netns=NS").
  local sub='' netns='' i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      trace | report | monitor) [[ -z $sub ]] && sub=${words[i]} ;;
      --netns)
        if [[ ${words[i + 1]} == = ]]; then netns=${words[i + 2]}; else netns=${words[i + 1]}; fi ;;
    esac
  done

  case $prev in
    --dev)
      COMPREPLY=($(compgen -W "$(_tunlat_devices "$netns")" -- "$cur"))
      return ;;
    --netns)
      COMPREPLY=($(compgen -W "$(ip netns list 2>/dev/null | awk '{ print $1 }')" -- "$cur"))
      return ;;
    --json | --record | --folded | --svg | --html | --perfetto | --pcapng)
      _filedir
      return ;;
    --flame-by)
      # A comma-separated list: complete the part after the last comma with a frame
      # kind the list does not hold yet.
      local done_part='' item=$cur kinds=' span flow process cpu state ' k
      if [[ $cur == *,* ]]; then done_part=${cur%,*},; item=${cur##*,}; fi
      local IFS=,
      for k in $done_part; do kinds=${kinds/ $k / }; done
      unset IFS
      COMPREPLY=($(compgen -P "$done_part" -W "$kinds" -- "$item"))
      compopt -o nospace 2>/dev/null  # the user may add ",kind"
      return ;;
    -d | --duration | -i | --interval | --sample | --stall-ms | --filter | --perfetto-packets | --snaplen | --listen | --scan)
      return ;;  # a number or an expression: nothing to offer
  esac
  $split && return

  case $sub in
    '')
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '-h --help --version' -- "$cur"))
      else
        COMPREPLY=($(compgen -W 'trace report monitor' -- "$cur"))
      fi ;;
    trace)
      # Words that are not options are the pcap filter: nothing to offer for them.
      [[ $cur == -* ]] && COMPREPLY=($(compgen -W "$_tunlat_trace_opts" -- "$cur")) ;;
    monitor)
      [[ $cur == -* ]] && COMPREPLY=($(compgen -W "$_tunlat_monitor_opts" -- "$cur")) ;;
    report)
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$_tunlat_report_opts" -- "$cur"))
      else
        _filedir  # the recording
      fi ;;
  esac
} && complete -F _tunlat tunlat
