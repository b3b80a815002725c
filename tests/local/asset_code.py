"""Code that the local tests write into their small Lambda assets (handlers run in processes of
their own, so they share code as text)."""

HOLD_UNTIL_RELEASED = """
def hold_until_released(folder, marker="held"):
    # Runs until the test releases it: an invocation that is surely under way meanwhile.
    (folder / marker).touch()
    deadline = time.monotonic() + 30
    while not (folder / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        time.sleep(0.01)
"""
