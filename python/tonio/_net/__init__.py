"""tonio's networking, written once for both syntaxes (``tonio.net`` and ``tonio.colored.net``
re-export it): sockets (``_socket.py``), streams (``_streams.py``), opening and serving
connections (``_highlevel.py``), TLS streams (``_tls.py``) and TLS over TCP
(``_tls_highlevel.py``)."""
