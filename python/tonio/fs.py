"""Files and paths (TonIO's ``tonio.fs``): ``open``, ``wrap_file`` and ``Path``.

Every operation that touches the filesystem runs on the blocking pool; yield what it returns
(``f = yield fs.open(name, 'w')``, ``yield f.write(text)``, ``yield f.close()``,
``exists = yield fs.Path(name).exists()``). ``tonio.colored.fs`` has the same objects for
``async def`` code, where a file also works with ``async with`` and ``async for``; in generator
code read lines with ``while line := (yield f.readline()):`` and close files in a ``finally``
with ``yield f.close()`` (``_fs/_file.py`` says why).
"""

import sys

from ._fs._file import IOWrapper as IOWrapper
from ._fs._file import open_file as open
from ._fs._file import wrap_file as wrap_file
from ._fs._path import Path as Path

if sys.platform == 'win32':
    from ._fs._path import WindowsPath as WindowsPath

    __all__ = ['IOWrapper', 'Path', 'WindowsPath', 'open', 'wrap_file']
else:
    from ._fs._path import PosixPath as PosixPath

    __all__ = ['IOWrapper', 'Path', 'PosixPath', 'open', 'wrap_file']
