#!/bin/sh
# iopath guest agent. Serves the host on a serial port that is not the NIC under test.
#
# Requests, one per line:   <id> <verb> [arg ...]
#   arguments are single tokens of [A-Za-z0-9._:/=,+@%-] (the host checks before sending)
# Replies, every reply ends with an `end` line:
#   @@iopath <id> exit <st>  (exec only) the moment the program ended, before its output is sent:
#                            the host closes a measurement window here, so the output's transfer
#                            over this port is not counted with the traffic
#   @@iopath <id> out        then stdout, base64, line-wrapped
#   @@iopath <id> err        then stderr, base64, line-wrapped
#   @@iopath <id> end <status>
# Verbs:
#   ping                            -> out: "pong <kernel release>"
#   exec <timeout-s> <prog> [arg..] -> runs prog, killed after timeout-s seconds; out, err, status
#   spawn <prog> [arg ...]          -> starts prog in the background; out: its pid
#   kill <pid>                      -> SIGKILL to pid
#   netup <mac> <addr/prefix> <mtu> -> configures the interface with that MAC; out: its name
#   poweroff                        -> acknowledges, then powers the guest off
# At start it prints `@@iopath ready <kernel release>`.
set -f
port="$1"
stty -F "$port" 115200 raw -echo -echoe -echok -icrnl -onlcr -opost 2>/dev/null
exec 3<>"$port"

reply() { # id out-file err-file status
  echo "@@iopath $1 out" >&3
  base64 "$2" >&3
  echo "@@iopath $1 err" >&3
  base64 "$3" >&3
  echo "@@iopath $1 end $4" >&3
}

iface_with_mac() {
  set +f
  for d in /sys/class/net/*; do
    if [ "$(cat "$d/address")" = "$1" ]; then set -f; echo "${d##*/}"; return 0; fi
  done
  set -f
  return 1
}

echo "@@iopath ready $(uname -r)" >&3
while read -r id verb args <&3; do
  out=/tmp/agent.out; err=/tmp/agent.err
  : >"$out"; : >"$err"
  case "$verb" in
    ping)
      echo "pong $(uname -r)" >"$out"; reply "$id" "$out" "$err" 0 ;;
    exec)
      set -- $args
      t="$1"; shift
      timeout -s KILL "$t" "$@" >"$out" 2>"$err" </dev/null
      rc=$?
      echo "@@iopath $id exit $rc" >&3
      reply "$id" "$out" "$err" $rc ;;
    spawn)
      set -- $args
      "$@" >"/tmp/spawn-$id.log" 2>&1 </dev/null &
      echo "$!" >"$out"; reply "$id" "$out" "$err" 0 ;;
    kill)
      kill -9 $args 2>"$err"; reply "$id" "$out" "$err" $? ;;
    netup)
      set -- $args
      dev=$(iface_with_mac "$1")
      if [ -z "$dev" ]; then
        echo "no interface with MAC $1" >"$err"; reply "$id" "$out" "$err" 1
      else
        { ip link set "$dev" mtu "$3" && ip addr add "$2" dev "$dev" && ip link set "$dev" up; } 2>"$err"
        rc=$?; echo "$dev" >"$out"; reply "$id" "$out" "$err" $rc
      fi ;;
    poweroff)
      reply "$id" "$out" "$err" 0; sync; poweroff -f ;;
    *)
      echo "unknown verb: $verb" >"$err"; reply "$id" "$out" "$err" 2 ;;
  esac
done
