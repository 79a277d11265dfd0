"""`feedserver.serving.run`: what `web.run_app` does for one TCP site, with the lean poll path
in front; here, what it must not lose at the end."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from support.servers import free_port

SCRIPT = textwrap.dedent("""
    import asyncio, os, signal, sys
    from aiohttp import web
    from feedserver import serving
    from feedserver.appkeys import POLLS

    class Known:  # what serving puts in front of the app's handler
        def ahead_of(self, handler):
            return handler

    async def failing_cleanup(app):
        yield
        raise RuntimeError("the store could not be closed")

    async def stop_soon(app):
        asyncio.get_running_loop().call_later(0.2, os.kill, os.getpid(), signal.SIGTERM)

    app = web.Application()
    app[POLLS] = Known()
    app.cleanup_ctx.append(failing_cleanup)
    app.on_startup.append(stop_soon)
    serving.run(app, "127.0.0.1", int(sys.argv[1]), reuse_port=False, announce=print)
    print("run returned")
""")


def test_an_error_of_the_cleanup_after_sigterm_is_not_swallowed(tmp_path):
    """After SIGTERM the cleanup flushes receipts and closes the store: if that fails, the
    process must say so and exit non-zero, not end quietly as if all was saved."""
    script = tmp_path / "serve.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(free_port())], capture_output=True,
                          text=True, timeout=60)
    assert "Running on" in done.stdout
    assert "run returned" not in done.stdout
    assert done.returncode != 0 and done.returncode != -signal.SIGTERM
    assert "the store could not be closed" in done.stderr
