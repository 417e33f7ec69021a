"""The audio transport: a WebRTC selective forwarding unit on aiortc (DESIGN.md section 5)."""
