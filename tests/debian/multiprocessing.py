# Debian's python3 running the process pools of its standard library, which
# talk over AF_UNIX sockets and pipes: multiprocessing.Pool, a Manager (a
# server process whose clients connect to a socket in /tmp), and
# concurrent.futures' ProcessPoolExecutor. Prints only results.
import concurrent.futures
import multiprocessing
import socket


def square(x):
    return x * x


def store(shared, i):
    shared[i] = i * 10


if __name__ == "__main__":
    with multiprocessing.Pool(4) as pool:
        print("pool map", pool.map(square, range(12)))
        print("pool apply", pool.apply(square, (7,)))
    with multiprocessing.Manager() as manager:
        shared = manager.dict()
        procs = [multiprocessing.Process(target=store, args=(shared, i)) for i in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        print("manager dict", sorted(shared.items()), [p.exitcode for p in procs])
    with concurrent.futures.ProcessPoolExecutor(max_workers=3) as ex:
        print("executor", list(ex.map(square, range(8))))
    a, b = socket.socketpair()
    a.sendall(b"ping")
    print("socketpair", b.recv(4), a.family == socket.AF_UNIX)
    print("== done")
