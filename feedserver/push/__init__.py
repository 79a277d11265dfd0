"""Push delivery: SSE and WebSocket streams, their fan-out, signed webhooks, the player."""
