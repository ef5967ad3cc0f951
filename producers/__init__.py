"""What emits events into ``cx.events``: the simulator, file import and the HTTP gateway."""
