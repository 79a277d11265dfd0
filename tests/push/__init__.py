"""Push delivery tests: SSE, WebSocket, fan-out, webhooks and the player."""
