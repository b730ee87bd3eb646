# Debian's bash under cleave, against the host's bash: every construct that
# makes processes (subshells, pipelines, command substitution, background
# jobs, process substitution, exec) and the signals between them.
set -u
d=$(mktemp -d)

echo "== subshells"
[ "$$" = "$(echo $$)" ] && echo "\$\$ is the shell's in a command substitution"
[ "$BASHPID" != "$(echo $BASHPID)" ] && echo "BASHPID is the subshell's own"
(exit 3)
echo "subshell status $?"
x=outer
(x=inner)
echo "a subshell's variables stay in it: $x"

echo "== pipelines"
printf '3\n1\n2\n' | sort | tr '\n' ' '
echo
true | false | true
echo "PIPESTATUS ${PIPESTATUS[*]}"
set -o pipefail
false | true
echo "pipefail $?"
set +o pipefail
seq 1 20000 | tail -n 1

echo "== background jobs"
sleep 0.1 &
wait $!
echo "waited $?"
(exit 7) &
wait $!
echo "background status $?"
for i in 1 2 3; do (echo "job $i" >"$d/job$i") & done
wait
cat "$d"/job*

echo "== descriptors and redirections"
echo hello >"$d/f"
exec 3<"$d/f"
read -r line <&3
exec 3<&-
echo "read $line"
wc -c <"$d/f"
{ echo out; echo err >&2; } 2>&1 | sort
cat <(echo "from process substitution")
cat <<END
here document $((6 * 7))
END
wc -w <<<"three little words"

echo "== signals and traps"
trap 'echo caught USR1' USR1
kill -USR1 $$
trap - USR1
(trap 'echo the subshell exit trap runs' EXIT; exit 0)
bash -c 'kill -TERM $$'
echo "a shell killed by TERM: $?"
sleep 10 &
kill $!
wait $!
echo "a killed sleep: $?"

echo "== exec"
bash -c 'exec echo exec replaced the shell'
(exec sh -c 'echo sh is $0') 2>/dev/null || bash -c 'echo sh is sh'

echo "== recursion through command substitution"
fib() { if (($1 < 2)); then echo "$1"; else echo $(($(fib $(($1 - 1))) + $(fib $(($1 - 2))))); fi; }
fib 10

rm -r "$d"
echo "== done"
