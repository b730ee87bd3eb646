# Debian's python3 under cleave, against the host's python3: the os
# module's process calls, which are the notes' system calls one to one.
import _thread
import os
import signal

print("== fork and pipe")
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.write(w, b"hello from the child")
    os._exit(7)
os.close(w)
print(os.read(r, 100).decode())
_, status = os.waitpid(pid, 0)
print("child exit status", os.waitstatus_to_exitcode(status))

print("== exec")
pid = os.fork()
if pid == 0:
    os.execv("/bin/bash", ["bash", "-c", "exit 5"])
_, status = os.waitpid(pid, 0)
print("exec'd child exit status", os.waitstatus_to_exitcode(status))

print("== posix_spawn")
pid = os.posix_spawn("/bin/bash", ["bash", "-c", "exit 4"], {})
_, status = os.waitpid(pid, 0)
print("spawned child exit status", os.waitstatus_to_exitcode(status))

print("== signals")
signal.signal(signal.SIGUSR1, lambda sig, frame: print("handler got", signal.Signals(sig).name))
os.kill(os.getpid(), signal.SIGUSR1)
pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), signal.SIGKILL)
_, status = os.waitpid(pid, 0)
print("child killed by", signal.Signals(-os.waitstatus_to_exitcode(status)).name)

print("== threads")
lock = _thread.allocate_lock()
done = []
def worker(n):
    with lock:
        done.append(n)
        if len(done) == 8:
            finished.release()
finished = _thread.allocate_lock()
finished.acquire()
for n in range(8):
    _thread.start_new_thread(worker, (n,))
finished.acquire()
print("threads ran:", sorted(done))

print("== Popen.poll")
# subprocess's busy loop: poll() is waitpid(WNOHANG), which must not keep
# the child (bash counting, then dying of a signal with its stdout a pipe)
# from running, nor its pipe from closing.
import subprocess
child = subprocess.Popen(
    ["/bin/bash", "-c", "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; echo $i; kill -TERM $$"],
    stdout=subprocess.PIPE,
)
while child.poll() is None:
    pass
print("Popen.poll loop: returncode", child.returncode, "output", child.stdout.read().decode().strip())

print("== done")
