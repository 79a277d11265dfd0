"""Signatures on everything that tells a screen to show an alert: CAP messages (XML-DSig),
feed documents, push envelopes and renders (detached JWS), with one key pair and its JWKS."""
