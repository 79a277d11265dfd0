"""What an operator runs beside the server: backups, restores, tokens, and the alerts in an
emergency when the web console cannot be reached."""
