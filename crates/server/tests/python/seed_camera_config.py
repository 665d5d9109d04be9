"""The seed scenario (shared/seeds/000): one service stores `camera_config`, two others react
to its changes, one through `__keyevent@0__:set`, one through `__keyspace@0__:camera_config`.
Each role runs in its own process with the `valkey` client from PyPI, written the way the
seed's users wrote it. Run by crates/server/tests/e2e/pubsub.rs against a fresh server:

    python3 seed_camera_config.py PORT

Exits 0 when both listeners saw the change, non-zero (with a message) otherwise.
"""
import multiprocessing as mp
import sys

from valkey import Valkey


def keyevent_listener(port, ready, seen):
    vk = Valkey(host="localhost", port=port, decode_responses=True)
    pubsub = vk.pubsub()
    pubsub.subscribe("__keyevent@0__:set")
    ready.set()
    for msg in pubsub.listen():
        if msg["type"] == "message" and msg["data"] == "camera_config":
            seen.put(("keyevent", msg["channel"], msg["data"]))
            return


def keyspace_listener(port, ready, seen):
    vk = Valkey(host="localhost", port=port, decode_responses=True)
    pubsub = vk.pubsub()
    pubsub.subscribe("__keyspace@0__:camera_config")
    ready.set()
    for msg in pubsub.listen():
        if msg["type"] == "message" and msg["data"] == "set":
            seen.put(("keyspace", msg["channel"], msg["data"]))
            return


def main():
    port = int(sys.argv[1])
    vk = Valkey(host="localhost", port=port)
    # Users enable notifications in valkey.conf; the test server starts without them.
    vk.config_set("notify-keyspace-events", "KEA")

    seen = mp.Queue()
    listeners = []
    for target in (keyevent_listener, keyspace_listener):
        ready = mp.Event()
        p = mp.Process(target=target, args=(port, ready, seen), daemon=True)
        p.start()
        if not ready.wait(20):
            sys.exit(f"{target.__name__} did not subscribe")
        listeners.append(p)
    # The subscriptions are registered once the listeners' SUBSCRIBE replies are read; wait
    # until the server counts both before writing.
    for _ in range(200):
        counts = dict(vk.pubsub_numsub("__keyevent@0__:set", "__keyspace@0__:camera_config"))
        if all(n == 1 for n in counts.values()):
            break
        mp.Event().wait(0.05)

    vk.set("camera_config", "my new config")
    config = vk.get("camera_config")
    assert config == b"my new config", config

    got = {}
    for _ in listeners:
        kind, channel, data = seen.get(timeout=20)
        got[kind] = (channel, data)
    for p in listeners:
        p.join(5)
    expected = {
        "keyevent": ("__keyevent@0__:set", "camera_config"),
        "keyspace": ("__keyspace@0__:camera_config", "set"),
    }
    if got != expected:
        sys.exit(f"expected {expected}, got {got}")
    print("ok: both listeners saw camera_config change")


if __name__ == "__main__":
    main()
