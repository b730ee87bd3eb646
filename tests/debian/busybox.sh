# The busybox suite: one shell script run by Debian's busybox sh, natively
# (amd64, the reference) and under cleave (riscv64); the two outputs must be
# the same bytes. It prints only facts that hold on any Linux: no pids,
# times or host paths.

section() { echo "== $*"; }

work=$(mktemp -d)
cd "$work" || exit 1

section pipes
printf 'pear\napple\nfig\n' | sort | head -n 2
echo hello world | tr a-z A-Z | sed 's/WORLD/THERE/'
seq 1 100 | grep 7 | wc -l
yes y | head -n 3 | tr -d '\n'; echo
echo "exit of a pipeline is its last command: $(false | true; echo $?)"

section redirection
echo one >f
echo two >>f
cat <f
wc -l <f
ls nosuch 2>err; echo "ls status $?"
sed 's/^.*: //' err
echo to-stderr 1>&2 2>/dev/null
{ echo out; echo err >&2; } >both 2>&1
sort both
exec 3>fd3; echo via-fd3 >&3; exec 3>&-; cat fd3
cat <<HERE
here-doc $((6 * 7))
HERE

section subshells and status
(exit 7); echo "subshell exit $?"
x=$(echo captured); echo "command substitution: $x"
sh -c 'exit 3'; echo "sh -c exit $?"
false && echo no || echo "&& and || work"
v=outer; (v=inner); echo "subshell kept v=$v"

section background jobs and wait
sleep 0.2 &
p=$!
echo "background pid is a number: $(test "$p" -gt 0 && echo yes)"
wait "$p"; echo "wait status $?"
(sleep 0.1; exit 5) &
wait $!; echo "wait status $?"
for i in 3 2 1; do (sleep 0.$i; echo "job $i done" >>jobs) & done
wait
sort jobs
echo "all jobs done"

section kill
sleep 10 &
p=$!
# The shell's own "Terminated" report is racy: only the status is kept.
{ kill "$p"; wait "$p"; } 2>/dev/null; echo "killed by TERM: status $?"
sleep 10 &
p=$!
{ kill -9 "$p"; wait "$p"; } 2>/dev/null; echo "killed by KILL: status $?"
kill -0 $$ && echo "kill -0 on self works"
kill -0 99999 2>/dev/null || echo "kill -0 on no process fails"

section trap
trap 'echo "trapped USR1"' USR1
kill -USR1 $$
trap - USR1
sh -c 'trap "echo caught TERM; exit 3" TERM; kill -TERM $$; sleep 1'; echo "status $?"
sh -c 'trap "echo exit trap runs" EXIT; exit 4'; echo "status $?"
sh -c 'trap "" INT; kill -INT $$; echo "ignored INT"'

section find
mkdir -p tree/a/b tree/c
touch tree/a/one.txt tree/a/b/two.txt tree/c/three.log tree/top.txt
find tree | sort
find tree -name '*.txt' | wc -l
find tree -type d | sort
find tree -type f -name 't*' | sort

section sort
printf '10\n9\n100\n9\n' >nums
sort nums | tr '\n' ' '; echo
sort -n nums | tr '\n' ' '; echo
sort -nr nums | tr '\n' ' '; echo
sort -nu nums | tr '\n' ' '; echo
printf 'b 2\na 3\nc 1\n' | sort -k2 -n

section sed
printf 'alpha\nbeta\ngamma\n' >words
sed -n 2p words
sed 's/a/A/g' words | tr '\n' ' '; echo
sed '/beta/d' words | tr '\n' ' '; echo
sed -i 's/gamma/delta/' words; cat words | tail -n 1
echo "a.b.c" | sed 's/\./-/2'

section awk
printf '1 2\n3 4\n5 6\n' | awk '{ s += $1 * $2 } END { print "sum", s }'
printf 'x 1\ny 2\nx 3\n' | awk '{ t[$1] += $2 } END { print "x=" t["x"], "y=" t["y"] }'
echo "a:b:c" | awk -F: '{ print NF, $2 }'
awk 'BEGIN { printf "%05.1f|%-3s|%x\n", 3.14159, "z", 255 }'
seq 1 5 | awk 'NR % 2 == 1'

section proc
echo "self is a link to us: $(test "$(readlink /proc/self)" -gt 0 && echo yes)"
ls /proc/$$ | grep -E '^(cmdline|comm|cwd|exe|fd|maps|stat|status|task)$'
grep -E '^(Name|Tgid):' /proc/$$/status | sed "s/$$/PID/" | tr -s '\t ' ' '
awk '{ print "stat fields:", NF, "comm:", $2 }' /proc/$$/stat
echo "exe: $(basename "$(readlink /proc/$$/exe)")"
echo "cwd is the work dir: $(test "$(readlink /proc/$$/cwd)" = "$(pwd -P)" && echo yes)"
ls /proc/$$/fd | sort -n | head -n 3 | tr '\n' ' '; echo
ls /proc/$$/task | grep -c "^$$\$"
sleep 5 &
p=$!
# Until the child has exec'd, it is a copy of the shell.
until [ "$(cat /proc/$p/comm 2>/dev/null)" = sleep ]; do :; done
ps -o pid,comm | awk -v p="$p" '$1 == p { print "ps sees", $2 }'
ps -o pid,comm | awk -v p="$$" '$1 == p { print "ps sees the shell:", $2 }'
{ kill "$p"; wait "$p"; } 2>/dev/null
grep -c '^MemTotal:' /proc/meminfo
free | head -n 1 | awk '{ print $1, $2, $3 }'
awk '{ print "loadavg fields:", NF }' /proc/loadavg
head -n 1 /proc/stat | awk '{ print $1 }'
awk '{ print "uptime fields:", NF }' /proc/uptime

section fifos
mkfifo p
ls -l p | cut -c1
echo through the fifo >p &
cat p
wait
mknod q p && [ -p q ] && echo "mknod q p: a fifo"
{ echo second; echo third; } >q &
while read -r line; do echo "read: $line"; done <q
wait

cd /
rm -r "$work"
section done
