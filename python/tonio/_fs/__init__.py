"""tonio's filesystem module, written once for both syntaxes (``tonio.fs`` and
``tonio.colored.fs`` re-export it): async file objects and ``open`` (``_file.py``), and ``Path``
(``_path.py``). Every call that touches the filesystem runs on the blocking pool and returns an
object both syntaxes wait for; a cancelled waiter follows the blocking pool's rule (the call is
stopped at its next bytecode), except ``open``, which never leaks the file it opened."""
