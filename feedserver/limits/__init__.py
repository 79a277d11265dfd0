"""What one client may take of the server: requests per address, failed console sign-ins per
address, and who the client behind a reverse proxy is (README "Limits")."""
