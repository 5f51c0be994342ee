#!/usr/bin/python3
"""Lab listener: accepts TCP connections on the given [address:]ports and answers
"open <port>", so a test can tell a firewall verdict from a closed port."""
import socket
import sys
import threading


def serve(address: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, port))
        server.listen(16)
        while True:
            conn, _ = server.accept()
            with conn:
                conn.sendall(f"open {port}\n".encode())


def main() -> None:
    threads = []
    for spec in sys.argv[1:]:
        address, _, port = spec.rpartition(":")
        threads.append(threading.Thread(target=serve, args=(address or "0.0.0.0", int(port))))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
