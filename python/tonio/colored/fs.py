"""Files and paths for ``async def`` code: the same objects as ``tonio.fs``, awaited. A file
also works with ``async with await fs.open(name) as f:`` (closed on the pool at the end) and
``async for line in f:``."""

import sys

from ..fs import IOWrapper as IOWrapper
from ..fs import Path as Path
from ..fs import open as open
from ..fs import wrap_file as wrap_file

if sys.platform == 'win32':
    from ..fs import WindowsPath as WindowsPath

    __all__ = ['IOWrapper', 'Path', 'WindowsPath', 'open', 'wrap_file']
else:
    from ..fs import PosixPath as PosixPath

    __all__ = ['IOWrapper', 'Path', 'PosixPath', 'open', 'wrap_file']
