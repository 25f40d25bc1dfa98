"""`lamina up` right after Ctrl-C: a port whose last connections sit in TIME_WAIT is free to listen on."""

from __future__ import annotations

import socket

from lamina_local.backends import port_is_free


def test_a_port_left_in_time_wait_is_free_and_a_listening_one_is_not() -> None:
    # GIVEN a server that accepted a connection and closed it first (its side of the port goes to TIME_WAIT)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()
    client.close()
    server.close()
    # WHEN the port is checked; THEN it is free, as uvicorn would find it
    assert port_is_free(port)
    # ... while a port something listens on is not
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        assert not port_is_free(listening.getsockname()[1])
