#!/usr/bin/python3
"""v1_client.py -- an outside chat client for the browser tests: one tidegate.v1.json
WebSocket (python3-websockets), driven one command at a time by the test over stdin.

Usage: v1_client.py WS_URL. Prints {"ready": hello} once the hello arrived, then reads
one JSON command a line and answers each with one JSON line:
  {"op": "say", "room": R, "text": T}  sends a message; answers {"seq": S} once its own
                                        message came back in a batch (so the next command
                                        is sent after it: the test decides the order)
  {"op": "join", "room": R}            joins R too (the socket stays in its other rooms);
                                        answers the `joined` notice
  {"op": "log", "room": R}             answers {"msgs": [...]}: every message of R this
                                        client received, in the order received
Every wait is bounded; end of stdin closes the socket and exits.
"""
import asyncio
import json
import sys

import websockets

WAIT_S = 15


class Client:
    def __init__(self, ws):
        self.ws = ws
        self.logs = {}  # room -> [msg, ...] as received
        self.notices = []  # direct notices, in order
        self.changed = asyncio.Event()
        self.cid = 0

    async def read(self):
        async for data in self.ws:
            frame = json.loads(data)
            if frame.get("t") == "batch":
                self.logs.setdefault(frame["room"], []).extend(frame["msgs"])
            else:
                self.notices.append(frame)
            self.changed.set()

    async def until(self, found):
        """Waits until found() gives something (a new frame may have made it true)."""
        async def poll():
            while True:
                got = found()
                if got is not None:
                    return got
                self.changed.clear()
                await self.changed.wait()
        return await asyncio.wait_for(poll(), WAIT_S)

    async def say(self, room, text):
        self.cid += 1
        cid = "py-%d" % self.cid
        await self.ws.send(json.dumps({"t": "msg", "room": room, "text": text, "cid": cid}))
        msg = await self.until(lambda: next((m for m in self.logs.get(room, []) if m.get("cid") == cid), None))
        return {"seq": msg["seq"]}

    async def join(self, room):
        at = len(self.notices)
        await self.ws.send(json.dumps({"t": "join", "room": room}))
        return await self.until(lambda: next((n for n in self.notices[at:] if n.get("t") == "joined" and n.get("room") == room), None))


async def main(url):
    loop = asyncio.get_running_loop()
    async with websockets.connect(url, subprotocols=["tidegate.v1.json"], open_timeout=WAIT_S) as ws:
        client = Client(ws)
        reader = asyncio.ensure_future(client.read())
        hello = await client.until(lambda: next((n for n in client.notices if n.get("t") == "hello"), None))
        print(json.dumps({"ready": hello}), flush=True)
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            cmd = json.loads(line)
            if reader.done():
                raise RuntimeError("the socket closed: %r" % (reader.exception(),))
            if cmd["op"] == "say":
                answer = await client.say(cmd["room"], cmd["text"])
            elif cmd["op"] == "join":
                answer = await client.join(cmd["room"])
            elif cmd["op"] == "log":
                answer = {"msgs": client.logs.get(cmd["room"], [])}
            else:
                raise ValueError("unknown op %r" % cmd["op"])
            print(json.dumps(answer), flush=True)
        reader.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
