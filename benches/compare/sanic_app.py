"""Sanic reference app for benches/compare: GET / answers "Hello, World!" as
text, GET /json answers {"message": "Hello, World!"} (serialized per
request), and /echo is a websocket that sends every message back.

    python sanic_app.py [PORT]     # or PORT=8086; default 8086, host 127.0.0.1

One process (single_process=True, one worker), no access log.
"""

import os
import sys

from sanic import Sanic
from sanic.response import json, text

app = Sanic("sanic_compare")
# Idle keep-alive connections must outlive the idle-connection memory test.
app.config.KEEP_ALIVE_TIMEOUT = 120


@app.get("/")
async def hello(request):
    return text("Hello, World!")


@app.get("/json")
async def json_hello(request):
    return json({"message": "Hello, World!"})


@app.websocket("/echo")
async def echo(request, ws):
    async for msg in ws:
        await ws.send(msg)


if __name__ == "__main__":
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "8086"))
    app.run(
        host="127.0.0.1",
        port=port,
        single_process=True,
        workers=1,
        access_log=False,
        debug=False,
        motd=False,
    )
